//===- Median.h - The statistic every benchmark reports ---------*- C++ -*-===//

#ifndef MNEMO_BENCH_MEDIAN_H
#define MNEMO_BENCH_MEDIAN_H

#include <algorithm>
#include <vector>

namespace mnemo::bench {

/// The median of `values` (the mean of the middle two for an even count).
inline double median(std::vector<double> values) {
  if (values.empty())
    return 0.0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

} // namespace mnemo::bench

#endif // MNEMO_BENCH_MEDIAN_H
