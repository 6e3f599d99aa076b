#include "train/detail/plan_data.hpp"

#include <algorithm>
#include <iterator>
#include <set>

#include "satx/core/error.hpp"
#include "satx/core/strings.hpp"

namespace satx::train::detail {

namespace {

data::Dataset discover(const std::string& root, spdlog::logger& log) {
  auto dataset = data::discover_dataset(root);
  for (const auto& warning : dataset.warnings) log.warn("{}: {}", root, warning);
  return dataset;
}

std::vector<std::string> only_in(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::vector<std::string> names;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(names));
  return names;
}

}  // namespace

void load_plan_data(TrainPlan& plan, const models::ModelMetadata* from, spdlog::logger& log) {
  const auto& d = plan.options.data;
  if (d.train_dir.empty()) throw_option("train", "is required: a folder with one sub-folder per class");
  if (d.valid_dir.empty()) throw_option("valid", "is required: a folder with the same class sub-folders as -train");
  plan.train = discover(d.train_dir, log);
  for (const auto& folder : d.add_train) {
    const int64_t repeated = data::merge(plan.train, discover(folder, log));
    if (repeated > 0) log.warn("{}: {} file(s) already in the training set, counted once", folder, repeated);
    log.info("added {} to the training set: {} tiles in all", folder, plan.train.samples.size());
  }
  plan.valid = discover(d.valid_dir, log);
  std::vector<const data::Dataset*> splits = {&plan.train, &plan.valid};
  std::vector<std::string> names = {"train", "valid"};
  plan.has_test = !d.test_dir.empty();
  if (plan.has_test) {
    plan.test = discover(d.test_dir, log);
    splits.push_back(&plan.test);
    names.push_back("test");
  }
  data::check_same_classes(splits, names);
  if (plan.train.samples.empty()) throw_bad_data("training folder " + d.train_dir + " has no images");
  if (plan.valid.samples.empty()) throw_bad_data("validation folder " + d.valid_dir + " has no images");
  if (plan.train.classes.size() < 2)
    throw_bad_data("training folder " + d.train_dir + " has " + std::to_string(plan.train.classes.size()) +
                   " class folder(s); a classifier needs at least two");
  // Two folders of which one is empty is a one-class set too; say so before phase 1 runs.
  std::vector<std::string> populated;
  for (size_t c = 0; c < plan.train.classes.size(); ++c)
    if (plan.train.class_counts[c] > 0) populated.push_back(plan.train.classes[c]);
  if (populated.size() < 2)
    throw_bad_data("training folder " + d.train_dir + " has images in " +
                   (populated.empty() ? std::string("no class folder") : "only class '" + populated.front() + "'") +
                   "; a classifier needs images of at least two classes");

  if (plan.classes.empty()) plan.classes = plan.train.classes;
  if (from && from->classes != plan.classes) {
    const std::set<std::string> model(from->classes.begin(), from->classes.end());
    const std::set<std::string> given(plan.train.classes.begin(), plan.train.classes.end());
    if (model == given) {
      plan.classes = from->classes;  // keep the model's logit order
    } else if (!d.new_head) {
      throw_option("new_head", "is needed: the classes of " + d.train_dir + " differ from the model's (" + d.from +
                                   "): only in the model: " + join(only_in(model, given), ", ", "(none)") +
                                   "; only in the data: " + join(only_in(given, model), ", ", "(none)") +
                                   ". Pass -new-head to train a new head for the data's classes");
    }
  }
  if (plan.classes != plan.train.classes) {
    data::relabel(plan.train, plan.classes);
    data::relabel(plan.valid, plan.classes);
    if (plan.has_test) data::relabel(plan.test, plan.classes);
  }
}

}  // namespace satx::train::detail
