// satx: the command-line front end.
#include "application.hpp"

int main(int argc, char** argv) {
  satx::cli::Application application = satx::cli::build_application();
  return satx::cli::run_application(application, argc, argv);
}
