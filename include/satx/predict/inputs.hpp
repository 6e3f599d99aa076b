#pragma once
/// Turning `predict -input=` into the list of tiles to score.

#include <istream>
#include <string>
#include <vector>

namespace satx::predict {

/// The tile paths `input` names:
///  - "-": one path per line on `list_stream` (stdin);
///  - a folder: every file with an image extension below it, recursively, skipping hidden
///    (dot) files and folders, sorted;
///  - a file with an image extension: that tile;
///  - any other file: a list, one path per line.
/// Lists skip blank lines and lines starting with '#', strip a trailing CR, and keep relative
/// paths relative to the working directory (as `find` prints them). A Usage error naming
/// `input` when it does not exist. Paths are not checked here: an unreadable one is reported
/// in the error log when it is scored.
std::vector<std::string> collect_inputs(const std::string& input, std::istream& list_stream);

}  // namespace satx::predict
