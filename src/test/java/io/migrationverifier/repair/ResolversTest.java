package io.migrationverifier.repair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.repair.spi.Conflict;
import io.migrationverifier.repair.spi.ConflictResolver;
import io.migrationverifier.repair.spi.Decision;
import io.migrationverifier.repair.spi.Decision.Action;
import io.migrationverifier.testutil.Configs;
import java.time.Duration;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The built-in conflict policies and the loading of custom ones. */
class ResolversTest {

  private static SortedMap<String, String> row(String version) {
    SortedMap<String, String> m = new TreeMap<>();
    m.put("id", "1");
    m.put("note", "x");
    m.put("ver", version);
    return m;
  }

  private static Conflict conflict(SortedMap<String, String> source, SortedMap<String, String> target) {
    return new Conflict("t", new TreeMap<>(java.util.Map.of("id", "1")), source, target, "VALUE_MISMATCH");
  }

  private static Decision lww(String source, String target, Duration skew) {
    return new Resolvers.LastWriteWins("ver", skew).resolve(conflict(row(source), row(target)));
  }

  private static Decision lww(String source, String target) {
    return lww(source, target, Duration.ZERO);
  }

  // ---- last-write-wins: numbers ---------------------------------------------------------------------

  @Test
  void numericVersionSourceNewerOrEqualWritesTheSourceRow() {
    Decision d = lww("7", "6");
    assertThat(d.action()).isEqualTo(Action.WRITE);
    assertThat(d.row()).isEqualTo(row("7"));
    assertThat(lww("6", "6").action()).as("equal versions: the source is the truth").isEqualTo(Action.WRITE);
    assertThat(lww("10", "9").action()).as("compared as numbers, not text").isEqualTo(Action.WRITE);
    assertThat(lww("1.50", "1.5").action()).as("equal by value").isEqualTo(Action.WRITE);
    assertThat(lww("-1", "-2").action()).isEqualTo(Action.WRITE);
    assertThat(lww("18446744073709551616", "18446744073709551615").action()).isEqualTo(Action.WRITE);
  }

  @Test
  void numericVersionTargetNewerGoesToReview() {
    Decision d = lww("9", "10");
    assertThat(d.action()).isEqualTo(Action.REVIEW);
    assertThat(d.row()).isNull();
    assertThat(d.reason()).contains("ver=10", "newer");
    // skew tolerance is for clocks, not counters: one version ahead is ahead
    assertThat(lww("9", "10", Duration.ofHours(1)).action()).isEqualTo(Action.REVIEW);
  }

  // ---- last-write-wins: timestamps -------------------------------------------------------------------

  @Test
  void timestampsWithinTheSkewToleranceLetTheSourceWin() {
    Duration skew = Duration.ofSeconds(2);
    assertThat(lww("2024-05-01T10:00:00Z", "2024-05-01T10:00:01.999Z", skew).action()).isEqualTo(Action.WRITE);
    assertThat(lww("2024-05-01T10:00:00Z", "2024-05-01T10:00:02Z", skew).action())
        .as("exactly the tolerance").isEqualTo(Action.WRITE);
    Decision ahead = lww("2024-05-01T10:00:00Z", "2024-05-01T10:00:02.001Z", skew);
    assertThat(ahead.action()).isEqualTo(Action.REVIEW);
    assertThat(ahead.reason()).contains("2001 ms", "2000 ms");
    assertThat(lww("2024-05-01T10:00:05Z", "2024-05-01T10:00:00Z", Duration.ZERO).action())
        .as("source newer").isEqualTo(Action.WRITE);
  }

  @Test
  void timestampsInOtherShapesCompareAsInstants() {
    // an offset: 12:00+02:00 is 10:00Z, so the target is not newer
    assertThat(lww("2024-05-01T10:00:00.000001Z", "2024-05-01T12:00:00+02:00").action()).isEqualTo(Action.WRITE);
    assertThat(lww("2024-05-01T10:00:00Z", "2024-05-01T12:00:00.000001+02:00").action()).isEqualTo(Action.REVIEW);
    // zone-less date-times (read as UTC) with a space or a T; dates as their midnight
    assertThat(lww("2024-05-01 10:00:00", "2024-05-01T10:00:00.5").action()).isEqualTo(Action.REVIEW);
    assertThat(lww("2024-05-01T10:00:00.5", "2024-05-01 10:00:00").action()).isEqualTo(Action.WRITE);
    assertThat(lww("2024-05-02", "2024-05-01T23:59:59Z").action()).isEqualTo(Action.WRITE);
    assertThat(lww("2024-05-01", "2024-05-01T00:00:01Z").action()).isEqualTo(Action.REVIEW);
  }

  // ---- last-write-wins: nulls, absent rows, garbage ----------------------------------------------------

  @Test
  void anAbsentTargetRowIsWritten() {
    Decision d = new Resolvers.LastWriteWins("ver", Duration.ZERO).resolve(conflict(row("3"), null));
    assertThat(d.action()).isEqualTo(Action.WRITE);
    assertThat(d.row()).isEqualTo(row("3"));
  }

  @Test
  void anAbsentSourceRowGoesToReviewRatherThanDeletingAPossiblyNewerTargetRow() {
    Decision d = new Resolvers.LastWriteWins("ver", Duration.ZERO).resolve(conflict(null, row("3")));
    assertThat(d.action()).isEqualTo(Action.REVIEW);
    assertThat(d.reason()).contains("source row is absent", "ver=3");
  }

  @Test
  void aNullOrMissingVersionGoesToReview() {
    assertThat(lww(null, "3").action()).isEqualTo(Action.REVIEW);
    assertThat(lww("3", null).action()).isEqualTo(Action.REVIEW);
    assertThat(lww("3", null).reason()).contains("NULL or missing");
    SortedMap<String, String> noColumn = new TreeMap<>(row("1"));
    noColumn.remove("ver");
    assertThat(new Resolvers.LastWriteWins("ver", Duration.ZERO).resolve(conflict(noColumn, row("1"))).action())
        .isEqualTo(Action.REVIEW);
  }

  @Test
  void versionsThatAreNeitherNumbersNorTimestampsGoToReview() {
    assertThat(lww("abc", "abd").action()).isEqualTo(Action.REVIEW);
    assertThat(lww("abc", "abd").reason()).contains("neither a number nor a timestamp");
    // one of each cannot be ordered either
    assertThat(lww("5", "2024-05-01T10:00:00Z").action()).isEqualTo(Action.REVIEW);
  }

  // ---- the other built-ins ------------------------------------------------------------------------------

  @Test
  void sourceWinsWritesTheSourceRowOrDeletes() {
    assertThat(Resolvers.SOURCE_WINS.resolve(conflict(row("1"), row("2")))).isEqualTo(Decision.write(row("1")));
    Decision delete = Resolvers.SOURCE_WINS.resolve(conflict(null, row("2")));
    assertThat(delete.action()).isEqualTo(Action.WRITE);
    assertThat(delete.row()).as("null = delete the target row").isNull();
  }

  @Test
  void manualAlwaysReviews() {
    assertThat(Resolvers.MANUAL.resolve(conflict(row("1"), null)).action()).isEqualTo(Action.REVIEW);
    assertThat(Resolvers.MANUAL.resolve(conflict(null, row("1"))).action()).isEqualTo(Action.REVIEW);
  }

  // ---- per table from the config, custom classes --------------------------------------------------------

  private static VerifierConfig config(String tables) {
    return Configs.withTables("tables:\n" + tables, null);
  }

  /** A resolver for the loading tests. */
  public static final class Skipping implements ConflictResolver {
    @Override
    public Decision resolve(Conflict conflict) {
      return Decision.skip("test");
    }
  }

  /** Not a resolver. */
  public static final class NotAResolver {}

  /** A resolver without a no-argument constructor. */
  public static final class NeedsAnArgument implements ConflictResolver {
    public NeedsAnArgument(String x) {}

    @Override
    public Decision resolve(Conflict conflict) {
      return null;
    }
  }

  /** A resolver whose constructor fails. */
  public static final class Exploding implements ConflictResolver {
    public Exploding() {
      throw new IllegalStateException("no licence key");
    }

    @Override
    public Decision resolve(Conflict conflict) {
      return null;
    }
  }

  @Test
  void eachTableGetsItsPolicy() {
    Resolvers r = Resolvers.forConfig(config("""
          - {name: a, key: [id], repair: {policy: source-wins}}
          - {name: b, key: [id], repair: {policy: manual}}
          - {name: c, key: [id], repair: {policy: last-write-wins, version-column: ver, skew-tolerance: 5s}}
          - {name: d, key: [id], repair: {policy: custom, resolver: "io.migrationverifier.repair.ResolversTest$Skipping"}}
          - {name: e, key: [id]}
        """));
    assertThat(r.forTable("a")).containsSame(Resolvers.SOURCE_WINS);
    assertThat(r.forTable("b")).containsSame(Resolvers.MANUAL);
    assertThat(r.forTable("c").orElseThrow()).isInstanceOf(Resolvers.LastWriteWins.class);
    // the configured skew is the one in force
    assertThat(r.forTable("c").orElseThrow().resolve(conflict(row("2024-05-01T10:00:00Z"),
        row("2024-05-01T10:00:05Z"))).action()).isEqualTo(Action.WRITE);
    assertThat(r.forTable("c").orElseThrow().resolve(conflict(row("2024-05-01T10:00:00Z"),
        row("2024-05-01T10:00:05.001Z"))).action()).isEqualTo(Action.REVIEW);
    assertThat(r.forTable("d").orElseThrow()).isInstanceOf(Skipping.class);
    assertThat(r.forTable("e")).as("detect-only tables still have the default policy (check --repair)")
        .containsSame(Resolvers.SOURCE_WINS);
    assertThat(r.forTable("nope")).isEmpty();
  }

  @Test
  void everyUnusableResolverClassIsReportedAtOnceWithItsPath() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> Resolvers.forConfig(config("""
          - {name: ok, key: [id], repair: {policy: custom, resolver: "io.migrationverifier.repair.ResolversTest$Skipping"}}
          - {name: missing, key: [id], repair: {policy: custom, resolver: com.example.NoSuchResolver}}
          - {name: wrong, key: [id], repair: {policy: custom, resolver: "io.migrationverifier.repair.ResolversTest$NotAResolver"}}
          - {name: args, key: [id], repair: {policy: custom, resolver: "io.migrationverifier.repair.ResolversTest$NeedsAnArgument"}}
          - {name: boom, key: [id], repair: {policy: custom, resolver: "io.migrationverifier.repair.ResolversTest$Exploding"}}
        """)));
    assertThat(e).isNotNull();
    assertThat(e.problems()).hasSize(4);
    assertThat(e.problems().get(0)).startsWith("tables[1].repair.resolver:")
        .contains("com.example.NoSuchResolver", "not on the class path", "-cp");
    assertThat(e.problems().get(1)).startsWith("tables[2].repair.resolver:")
        .contains("does not implement io.migrationverifier.repair.spi.ConflictResolver");
    assertThat(e.problems().get(2)).startsWith("tables[3].repair.resolver:").contains("no-argument constructor");
    assertThat(e.problems().get(3)).startsWith("tables[4].repair.resolver:").contains("no licence key");
  }
}
