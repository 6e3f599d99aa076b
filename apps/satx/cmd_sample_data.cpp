// satx sample-data: write a small synthetic folder-per-class dataset to try satx on.
#include <iostream>

#include "cli.hpp"
#include "satx/data/sample.hpp"

namespace satx::cli {

void setup_sample_data(CLI::App& command, Run& run) {
  auto out = std::make_shared<std::string>();
  auto options = std::make_shared<data::SampleOptions>();
  auto& o = *options;
  command.add_option("--out,-o", *out, "Folder to create, with train/, valid/ and test/ inside")->required()->group("Output");
  command.add_option("--classes", o.classes, "Number of classes (2-8): fields, forest, water, urban, desert, snow, clouds, roads")->group("Dataset");
  command.add_option("--per-class", o.per_class, "Tiles per class over all splits (70% train, 15% valid, 15% test)")->group("Dataset");
  command.add_option("--size", o.size, "Tile side in pixels")->group("Dataset");
  command.add_option("--format", o.format, "Tile format: jpg or png")->group("Dataset");
  command.add_option("--seed", o.seed, "Seed: the same seed writes the same files")->group("Dataset");
  run = [out, options] {
    data::SampleSummary summary = data::write_sample_dataset(*out, *options);
    std::string classes;
    for (size_t i = 0; i < summary.classes.size(); ++i) classes += (i ? ", " : "") + summary.classes[i];
    std::cout << "wrote " << summary.files << " tiles of " << options->size << "x" << options->size << " ("
              << summary.classes.size() << " classes: " << classes << ") to " << *out << "\n";
    for (const auto& [split, count] : summary.splits)
      std::cout << "  " << *out << "/" << split << ": " << count << " tiles\n";
    std::cout << "next: satx data check -data=" << *out << "\n";
    return 0;
  };
}

}  // namespace satx::cli
