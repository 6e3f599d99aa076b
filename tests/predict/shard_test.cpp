#include <map>
#include <set>

#include <gtest/gtest.h>

#include "satx/core/error.hpp"
#include "satx/predict/shard.hpp"

using namespace satx::predict;

namespace {

EnvironmentLookup fake_environment(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> many_paths(int n) {
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) paths.push_back("tiles/" + std::to_string(i % 17) + "/tile_" + std::to_string(i) + ".jpg");
  return paths;
}

}  // namespace

TEST(Shard, ThreeShardsCoverEveryPathExactlyOnce) {
  const auto paths = many_paths(3000);
  std::multiset<std::string> covered;
  std::vector<size_t> sizes;
  for (int k = 0; k < 3; ++k) {
    auto part = select_shard(paths, parse_shard(std::to_string(k) + "/3"));
    sizes.push_back(part.size());
    covered.insert(part.begin(), part.end());
  }
  EXPECT_EQ(covered.size(), paths.size());
  for (const auto& path : paths) EXPECT_EQ(covered.count(path), 1u) << path;
  // The hash spreads the paths evenly (each shard within 10% of a third).
  for (size_t size : sizes) EXPECT_NEAR(static_cast<double>(size), 1000.0, 100.0);
}

TEST(Shard, MembershipDependsOnlyOnThePath) {
  auto paths = many_paths(500);
  ShardSpec shard = parse_shard("1/4");
  auto first = select_shard(paths, shard);
  // A resumed run sees the inputs in another order (or fewer of them): same membership.
  std::reverse(paths.begin(), paths.end());
  auto second = select_shard(paths, shard);
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()), std::set<std::string>(second.begin(), second.end()));
  EXPECT_EQ(path_hash("a/b.jpg"), path_hash(std::string("a/b.jpg")));
  EXPECT_NE(path_hash("a/b.jpg"), path_hash("a/c.jpg"));
}

TEST(Shard, RejectsMalformedSpecs) {
  for (const char* text : {"3/3", "1", "a/2", "1/0", "-1/2", "1/2/3", ""}) {
    try {
      parse_shard(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const satx::Error& e) {
      EXPECT_EQ(e.code(), satx::ErrorCode::Usage);
    }
  }
  auto spec = parse_shard("2/5");
  EXPECT_EQ(spec.index, 2);
  EXPECT_EQ(spec.count, 5);
}

TEST(Shard, ReadsSlurmAndKubernetesEnvironments) {
  EXPECT_FALSE(shard_from_environment(fake_environment({})));
  auto slurm = shard_from_environment(fake_environment({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "8"}}));
  ASSERT_TRUE(slurm);
  EXPECT_EQ(slurm->index, 3);
  EXPECT_EQ(slurm->count, 8);
  // --array=1-8 numbers tasks from 1: the minimum is subtracted.
  slurm = shard_from_environment(fake_environment(
      {{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}}));
  ASSERT_TRUE(slurm);
  EXPECT_EQ(slurm->index, 7);
  auto k8s = shard_from_environment(fake_environment({{"JOB_COMPLETION_INDEX", "0"}, {"SATX_SHARD_COUNT", "2"}}));
  ASSERT_TRUE(k8s);
  EXPECT_EQ(k8s->index, 0);
  EXPECT_EQ(k8s->count, 2);
  // An index alone is not a shard.
  EXPECT_FALSE(shard_from_environment(fake_environment({{"JOB_COMPLETION_INDEX", "0"}})));
  EXPECT_THROW(shard_from_environment(fake_environment({{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_COUNT", "8"}})),
               satx::Error);
}
