package io.migrationverifier.repair;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The token bucket behind {@code repair.rate-limit}: time is the caller's, so every case is exact. */
class RateLimiterTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void unlimitedNeverWaits() {
    RateLimiter l = new RateLimiter(0, 0);
    for (int i = 0; i < 10_000; i++) {
      assertThat(l.tryAcquire(0)).isZero();
    }
  }

  @Test
  void aFullBucketAllowsOneSecondsWorthAtOnceThenWaits() {
    RateLimiter l = new RateLimiter(10, 0);
    for (int i = 0; i < 10; i++) {
      assertThat(l.tryAcquire(0)).as("burst token %d", i).isZero();
    }
    long wait = l.tryAcquire(0);
    assertThat(wait).as("the 11th waits one token's time").isEqualTo(SECOND / 10);
    // nothing was taken by the refused call: after the wait exactly one token is there
    assertThat(l.tryAcquire(wait)).isZero();
    assertThat(l.tryAcquire(wait)).isPositive();
  }

  @Test
  void refillsAtTheRateAndNeverBeyondTheBurst() {
    RateLimiter l = new RateLimiter(4, 0);
    for (int i = 0; i < 4; i++) {
      l.tryAcquire(0);
    }
    assertThat(l.tryAcquire(0)).isEqualTo(SECOND / 4);
    // half a second: two tokens
    assertThat(l.tryAcquire(SECOND / 2)).isZero();
    assertThat(l.tryAcquire(SECOND / 2)).isZero();
    assertThat(l.tryAcquire(SECOND / 2)).isPositive();
    // an hour idle: still only a burst of 4
    long later = SECOND / 2 + 3600 * SECOND;
    int granted = 0;
    while (l.tryAcquire(later) == 0) {
      granted++;
    }
    assertThat(granted).isEqualTo(4);
  }

  @Test
  void theWaitShrinksAsTimePasses() {
    RateLimiter l = new RateLimiter(1, 0);
    assertThat(l.tryAcquire(0)).isZero();
    assertThat(l.tryAcquire(0)).isEqualTo(SECOND);
    assertThat(l.tryAcquire(SECOND / 4)).isEqualTo(3 * SECOND / 4);
    assertThat(l.tryAcquire(SECOND)).isZero();
  }

  @Test
  void sustainedRateOverManyCallsMatchesTheLimit() {
    RateLimiter l = new RateLimiter(50, 0);
    long now = 0;
    int granted = 0;
    // callers that sleep exactly the returned wait, for 10 simulated seconds
    while (now < 10 * SECOND) {
      long wait = l.tryAcquire(now);
      if (wait == 0) {
        granted++;
      } else {
        now += wait;
      }
    }
    // 50 of the initial burst + 50/s for 10 s, within one token of rounding
    assertThat(granted).isBetween(549, 551);
  }

  @Test
  void aClockThatStandsStillDoesNotMintTokens() {
    RateLimiter l = new RateLimiter(2, 5 * SECOND);
    assertThat(l.tryAcquire(5 * SECOND)).isZero();
    assertThat(l.tryAcquire(5 * SECOND)).isZero();
    for (int i = 0; i < 100; i++) {
      assertThat(l.tryAcquire(5 * SECOND)).isPositive();
    }
  }
}
