package io.migrationverifier.ops;

import io.migrationverifier.event.Discrepancy;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Posts discrepancy events to a webhook: the body is the event's JSON exactly as on
 * {@code <name>.discrepancies}, with {@code X-Discrepancy-Id}, {@code X-Discrepancy-Kind} and
 * {@code X-Discrepancy-Table} headers so a receiver can de-duplicate and route without parsing.
 *
 * <p>Delivery: a 2xx answer is success. Connection errors, timeouts, 408, 429 and 5xx are retried
 * with exponential backoff (a {@code Retry-After} header wins over the computed delay); when every
 * attempt failed, {@link GaveUpException} is thrown so the caller stops without committing: the
 * event is posted again by the next start, never dropped. Any other answer (3xx, 4xx) means the
 * receiver refuses this request as it is, and repeating it cannot help: the event is reported as
 * {@link Outcome#REJECTED} and the caller moves on.
 *
 * <p>Ids already posted (or rejected) in this run are remembered (the newest {@value #RECENT_IDS}),
 * so an event seen twice (a replayed topic, a duplicate record) is posted once per run; across runs
 * the receiver de-duplicates by {@code X-Discrepancy-Id}.
 */
public final class WebhookAlerter {
  /** How many recent ids de-duplication remembers. */
  public static final int RECENT_IDS = 10_000;
  /** No computed backoff grows beyond this. */
  static final Duration MAX_BACKOFF = Duration.ofMinutes(1);
  /** A Retry-After longer than this is cut: a receiver asking for hours would look like a hang. */
  static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(10);
  private static final int BODY_IN_LOG = 200;

  /**
   * @param retries attempts after the first one
   * @param timeout per attempt: connecting and the whole answer
   * @param backoff the wait before the first retry; it doubles for each further one
   * @param headers extra request headers (e.g. Authorization)
   */
  public record Settings(URI url, int retries, Duration timeout, Duration backoff, Map<String, String> headers) {}

  public enum Outcome {
    /** The receiver answered 2xx. */
    POSTED,
    /** This id was posted (or rejected) before in this run: not posted again. */
    DUPLICATE,
    /** The receiver refused the request (3xx, or 4xx other than 408/429): not retried. */
    REJECTED
  }

  /** @param status the last HTTP status, 0 when none (duplicate) */
  public record Result(Outcome outcome, int status, int attempts) {}

  /** Every attempt failed on a retryable error: the event is not delivered and must not be committed. */
  public static final class GaveUpException extends RuntimeException {
    GaveUpException(String message) {
      super(message);
    }
  }

  /** {@link #stop()} came while an event was being delivered: it is not delivered (not committed either). */
  public static final class StoppedException extends RuntimeException {
    StoppedException(String message) {
      super(message);
    }
  }

  private final Settings settings;
  private final PrintWriter log;
  private final HttpClient client;
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();
  private final Map<String, Boolean> recent = new LinkedHashMap<>(1024, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > RECENT_IDS;
    }
  };

  /** @param log where retries, rejections and giving up are reported (stderr) */
  public WebhookAlerter(Settings settings, PrintWriter log) {
    this.settings = settings;
    this.log = log;
    // HTTP/1.1: webhook receivers are plain HTTP servers; an h2c upgrade attempt buys nothing
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(settings.timeout())
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  /** Thread-safe: ends a delivery in progress (waiting, retrying) with {@link StoppedException}. */
  public void stop() {
    stopped.complete(null);
  }

  /**
   * Delivers one event, blocking through the retries.
   *
   * @param json the event as on the topic
   * @throws GaveUpException   every attempt failed on a retryable error
   * @throws StoppedException  {@link #stop()} was called meanwhile
   */
  public Result post(Discrepancy d, byte[] json) {
    if (recent.containsKey(d.id())) {
      return new Result(Outcome.DUPLICATE, 0, 0);
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(settings.url()).timeout(settings.timeout())
        .header("Content-Type", "application/json")
        .header("User-Agent", "migration-verifier")
        .header("X-Discrepancy-Id", d.id())
        .header("X-Discrepancy-Kind", d.kind().name())
        .header("X-Discrepancy-Table", d.table());
    settings.headers().forEach(b::header);
    HttpRequest request = b.POST(HttpRequest.BodyPublishers.ofByteArray(json)).build();
    int attempts = 1 + settings.retries();
    String last = null;
    for (int attempt = 1; attempt <= attempts; attempt++) {
      Duration wait;
      HttpResponse<String> response;
      try {
        response = send(request);
      } catch (IOException e) {
        last = e instanceof HttpTimeoutException ? "no answer within " + human(settings.timeout())
            : "connection failed: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        response = null;
      }
      if (response != null) {
        int status = response.statusCode();
        if (status / 100 == 2) {
          recent.put(d.id(), Boolean.TRUE);
          return new Result(Outcome.POSTED, status, attempt);
        }
        if (!(status == 408 || status == 429 || status / 100 == 5)) {
          recent.put(d.id(), Boolean.TRUE);
          log.printf("webhook: %s rejected %s with HTTP %d%s; not retried (%s), skipped%n", settings.url(),
              describe(d), status, body(response), status / 100 == 3 ? "redirects are not followed: give --webhook"
              + " the final URL" : "the receiver refuses this request as it is");
          log.flush();
          return new Result(Outcome.REJECTED, status, attempt);
        }
        last = "HTTP " + status + body(response);
        wait = retryAfter(response.headers().firstValue("Retry-After").orElse(null), ZonedDateTime.now());
        if (wait == null) {
          wait = backoff(attempt);
        }
      } else {
        wait = backoff(attempt);
      }
      if (attempt == attempts) {
        break;
      }
      log.printf("webhook: attempt %d/%d for %s failed (%s); retrying in %s%n", attempt, attempts, describe(d), last,
          human(wait));
      log.flush();
      pause(wait, d);
    }
    throw new GaveUpException("webhook " + settings.url() + ": gave up on " + describe(d) + " after " + attempts
        + " attempts (last: " + last + ")");
  }

  private HttpResponse<String> send(HttpRequest request) throws IOException {
    CompletableFuture<HttpResponse<String>> f = client.sendAsync(request,
        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    // waits for the answer or a stop(), whichever comes first; no thread is interrupted
    CompletableFuture.anyOf(f, stopped).exceptionally(e -> null).join();
    if (!f.isDone()) {
      f.cancel(true);
      throw new StoppedException("stopped while posting to " + settings.url());
    }
    try {
      return f.get();
    } catch (ExecutionException | CompletionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoppedException("interrupted while posting to " + settings.url());
    }
  }

  private void pause(Duration wait, Discrepancy d) {
    try {
      stopped.get(wait.toMillis(), TimeUnit.MILLISECONDS);
      throw new StoppedException("stopped while waiting to retry " + describe(d));
    } catch (TimeoutException e) {
      // waited the full delay: retry
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoppedException("interrupted while waiting to retry " + describe(d));
    } catch (ExecutionException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The delay before retry {@code attempt} (1 = the first retry): backoff doubled per retry, capped. */
  Duration backoff(int attempt) {
    Duration cap = settings.backoff().compareTo(MAX_BACKOFF) > 0 ? settings.backoff() : MAX_BACKOFF;
    Duration d = settings.backoff();
    for (int i = 1; i < attempt && d.compareTo(cap) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return d.compareTo(cap) > 0 ? cap : d;
  }

  /** Retry-After as seconds or an HTTP date (RFC 9110), capped; null when absent or unreadable. */
  static Duration retryAfter(String value, ZonedDateTime now) {
    if (value == null || value.isBlank()) {
      return null;
    }
    Duration d;
    try {
      d = Duration.ofSeconds(Math.max(0, Long.parseLong(value.trim())));
    } catch (NumberFormatException e) {
      try {
        d = Duration.between(now, ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME));
        d = d.isNegative() ? Duration.ZERO : d;
      } catch (DateTimeParseException e2) {
        return null;
      }
    }
    return d.compareTo(MAX_RETRY_AFTER) > 0 ? MAX_RETRY_AFTER : d;
  }

  static String describe(Discrepancy d) {
    return d.kind() + " " + d.table() + " " + d.key() + " (id " + d.id() + ")";
  }

  private static String body(HttpResponse<String> response) {
    String b = response.body() == null ? "" : response.body().strip().replaceAll("\\s+", " ");
    if (b.isEmpty()) {
      return "";
    }
    return ": " + (b.length() > BODY_IN_LOG ? b.substring(0, BODY_IN_LOG) + "..." : b);
  }

  /** 850ms, 2.5s, 3m05s, 2h10m, 1d03h. */
  public static String human(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      return String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
    }
    long s = ms / 1000;
    if (s < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
    if (s < 86_400) {
      return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
    }
    return String.format(Locale.ROOT, "%dd%02dh", s / 86_400, s % 86_400 / 3600);
  }
}
