// libFuzzer target: reading a torch.save archive (LibTorch's zip reader and satx's unpickler)
// must refuse hostile files with satx::Error and nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

#include "satx/core/error.hpp"
#include "satx/io/torch_pth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The reader takes a path: one scratch file per process, in RAM when /dev/shm exists.
  static const std::string path = (access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : std::string("/tmp")) +
                                  "/satx-fuzz-" + std::to_string(getpid()) + ".pth";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    satx::io::read_torch_pth(path);
  } catch (const satx::Error&) {
  }
  return 0;
}
