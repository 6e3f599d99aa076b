// The Prometheus text of `/metrics`: cumulative buckets, sums and escaped labels.
#include <gtest/gtest.h>

#include "satx/serve/metrics.hpp"

TEST(ServeMetrics, HistogramBucketsAreCumulative) {
  satx::serve::Histogram histogram({1, 2, 4});
  for (double value : {0.5, 1.0, 1.5, 3.0, 9.0}) histogram.observe(value);
  EXPECT_EQ(histogram.text("x"),
            "x_bucket{le=\"1\"} 2\n"
            "x_bucket{le=\"2\"} 3\n"
            "x_bucket{le=\"4\"} 4\n"
            "x_bucket{le=\"+Inf\"} 5\n"
            "x_sum 15\n"
            "x_count 5\n");
}

TEST(ServeMetrics, RequestsAreCountedByRouteAndStatus) {
  satx::serve::ServerMetrics metrics;
  metrics.request("/v1/predict", 200, 0.003);
  metrics.request("/v1/predict", 200, 0.004);
  metrics.request("/v1/predict", 503, 0.0001);
  metrics.batch(2);
  metrics.reload(false);
  const std::string text = metrics.text(7, "abc", "/models/a \"b\".safetensors");
  EXPECT_NE(text.find("satx_requests_total{route=\"/v1/predict\",status=\"200\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("satx_requests_total{route=\"/v1/predict\",status=\"503\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("satx_request_duration_seconds_count 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("satx_batch_size_bucket{le=\"2\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("satx_queue_depth 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("path=\"/models/a \\\"b\\\".safetensors\""), std::string::npos) << text;
  EXPECT_NE(text.find("satx_model_reloads_total{result=\"failed\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE satx_request_duration_seconds histogram\n"), std::string::npos) << text;
}
