package io.migrationverifier.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WebhookAlerterTest {
  private static WebhookAlerter alerter(Duration backoff) {
    return new WebhookAlerter(new WebhookAlerter.Settings(URI.create("http://127.0.0.1:1/x"), 3, Duration.ofSeconds(1),
        backoff, Map.of()), new PrintWriter(new StringWriter()));
  }

  @Test
  void backoffDoublesPerRetryUpToAMinute() {
    WebhookAlerter a = alerter(Duration.ofSeconds(1));
    assertThat(a.backoff(1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(a.backoff(2)).isEqualTo(Duration.ofSeconds(2));
    assertThat(a.backoff(4)).isEqualTo(Duration.ofSeconds(8));
    assertThat(a.backoff(7)).isEqualTo(Duration.ofMinutes(1));
    assertThat(a.backoff(500)).isEqualTo(Duration.ofMinutes(1));
    // a first wait above the cap is kept, not shortened
    assertThat(alerter(Duration.ofMinutes(2)).backoff(3)).isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void retryAfterReadsSecondsAndHttpDatesAndIsCapped() {
    ZonedDateTime now = ZonedDateTime.of(2026, 11, 24, 10, 0, 0, 0, ZoneOffset.UTC);
    assertThat(WebhookAlerter.retryAfter("7", now)).isEqualTo(Duration.ofSeconds(7));
    assertThat(WebhookAlerter.retryAfter("Tue, 24 Nov 2026 10:00:30 GMT", now)).isEqualTo(Duration.ofSeconds(30));
    assertThat(WebhookAlerter.retryAfter("Tue, 24 Nov 2026 09:00:00 GMT", now)).isEqualTo(Duration.ZERO);
    assertThat(WebhookAlerter.retryAfter("86400", now)).isEqualTo(WebhookAlerter.MAX_RETRY_AFTER);
    assertThat(WebhookAlerter.retryAfter("soon", now)).isNull();
    assertThat(WebhookAlerter.retryAfter(null, now)).isNull();
  }

  @Test
  void durationsReadAtAGlance() {
    assertThat(WebhookAlerter.human(Duration.ofMillis(850))).isEqualTo("850ms");
    assertThat(WebhookAlerter.human(Duration.ofMillis(12_300))).isEqualTo("12.3s");
    assertThat(WebhookAlerter.human(Duration.ofSeconds(185))).isEqualTo("3m05s");
    assertThat(WebhookAlerter.human(Duration.ofMinutes(130))).isEqualTo("2h10m");
    assertThat(WebhookAlerter.human(Duration.ofHours(27))).isEqualTo("1d03h");
  }
}
