#pragma once
// Finds a Python that can import the modules a test needs (torch, h5py), so io tests can use
// PyTorch and h5py as independent references; tests skip when none is found.

#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace satx::testing {

/// The first of $SATX_PYTHON-as-built, /usr/bin/python3 and python3 that imports every module
/// in `modules` (a pyenv shim first on PATH may lack the system's packages); empty when none.
inline std::string python_with(const std::string& modules) {
  for (const std::string candidate : {std::string(SATX_PYTHON), std::string("/usr/bin/python3"), std::string("python3")}) {
    if (run_shell(candidate + " -c 'import " + modules + "'").exit_code == 0) return candidate;
  }
  return "";
}

/// Runs `script` with `python`, failing the test with its stderr when it exits non-zero.
inline void run_python(const std::string& python, const std::filesystem::path& dir, const std::string& script) {
  write_text(dir / "script.py", script);
  const RunResult result = run_shell(python + " '" + (dir / "script.py").string() + "'");
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

}  // namespace satx::testing

#define SATX_REQUIRE_PYTHON(var, modules)                                              \
  const std::string var = ::satx::testing::python_with(modules);                       \
  if (var.empty()) GTEST_SKIP() << "no python3 that imports " << (modules)
