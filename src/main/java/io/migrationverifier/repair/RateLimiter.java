package io.migrationverifier.repair;

/**
 * A token bucket of {@code perSecond} repairs with a burst of one second's worth. Time comes from
 * the caller, so the limiter is pure and testable.
 */
final class RateLimiter {
  private final double perSecond;
  private final double capacity;
  private double tokens;
  private long lastNanos;

  RateLimiter(int perSecond, long nowNanos) {
    this.perSecond = perSecond;
    this.capacity = Math.max(1, perSecond);
    this.tokens = capacity;
    this.lastNanos = nowNanos;
  }

  /** Takes one token and returns 0, or returns how many nanoseconds to wait for it (nothing taken). */
  long tryAcquire(long nowNanos) {
    if (perSecond <= 0) {
      return 0;
    }
    tokens = Math.min(capacity, tokens + (nowNanos - lastNanos) * perSecond / 1e9);
    lastNanos = nowNanos;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return (long) Math.ceil((1 - tokens) * 1e9 / perSecond);
  }
}
