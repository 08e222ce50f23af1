package io.migrationverifier.repair;

import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.RepairPolicy;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.TableRepair;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.repair.spi.Conflict;
import io.migrationverifier.repair.spi.ConflictResolver;
import io.migrationverifier.repair.spi.Decision;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The conflict policy of every table with repair enabled, built once per role. */
public final class Resolvers {
  private final Map<String, ConflictResolver> byTable;

  private Resolvers(Map<String, ConflictResolver> byTable) {
    this.byTable = byTable;
  }

  /** Builds them; throws {@link ConfigException} naming every resolver class that cannot be used. */
  public static Resolvers forConfig(VerifierConfig config) {
    Map<String, ConflictResolver> m = new HashMap<>();
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < config.tables().size(); i++) {
      TableConfig t = config.tables().get(i);
      TableRepair r = t.repair();
      switch (r.policy()) {
        case SOURCE_WINS -> m.put(t.name(), SOURCE_WINS);
        case MANUAL -> m.put(t.name(), MANUAL);
        case LAST_WRITE_WINS -> m.put(t.name(), new LastWriteWins(r.versionColumn(), r.skewTolerance()));
        case CUSTOM -> {
          try {
            m.put(t.name(), load(r.resolverClass()));
          } catch (IllegalArgumentException e) {
            problems.add("tables[" + i + "].repair.resolver: " + e.getMessage());
          }
        }
        default -> throw new IllegalStateException(r.policy().name());
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new Resolvers(m);
  }

  public Optional<ConflictResolver> forTable(String table) {
    return Optional.ofNullable(byTable.get(table));
  }

  private static ConflictResolver load(String className) {
    Class<?> cls;
    try {
      cls = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalArgumentException("class \"" + className + "\" is not on the class path; add its jar with"
          + " java -cp migration-verifier.jar:your.jar io.migrationverifier.cli.Main ...");
    }
    if (!ConflictResolver.class.isAssignableFrom(cls)) {
      throw new IllegalArgumentException("class \"" + className + "\" does not implement "
          + ConflictResolver.class.getName());
    }
    try {
      return (ConflictResolver) cls.getDeclaredConstructor().newInstance();
    } catch (java.lang.reflect.InvocationTargetException e) {
      // the constructor itself threw: its exception is what the operator must see, not the reflective wrapper
      throw new IllegalArgumentException("class \"" + className + "\": its no-argument constructor failed: "
          + e.getCause());
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalArgumentException("class \"" + className + "\" cannot be instantiated with a public"
          + " no-argument constructor: " + e);
    }
  }

  /** {@code source-wins}: the target becomes what the source holds. */
  static final ConflictResolver SOURCE_WINS = c -> Decision.write(c.source());

  /** {@code manual}: a person decides. */
  static final ConflictResolver MANUAL = c -> Decision.review("policy manual: every difference is reviewed");

  /**
   * {@code last-write-wins}: compares the version column of the two rows. The source wins when its
   * version is newer, equal, or (timestamps) older by at most the skew tolerance, since two clocks
   * that far apart cannot order the writes and the source is the truth. A target that is newer goes
   * to review: overwriting it could throw away a write that the source has not seen yet. Without a
   * version on both sides (a row absent on one side, a NULL or unreadable version) a missing target
   * row is written and everything else goes to review.
   */
  static final class LastWriteWins implements ConflictResolver {
    private final String column;
    private final Duration skew;

    LastWriteWins(String column, Duration skew) {
      this.column = column;
      this.skew = skew;
    }

    @Override
    public Decision resolve(Conflict c) {
      if (c.target() == null) {
        return Decision.write(c.source()); // nothing on the target can be newer
      }
      if (c.source() == null) {
        return Decision.review("last-write-wins: the source row is absent, so there is no source version to"
            + " compare with the target's " + column + "=" + c.target().get(column));
      }
      String sv = c.source().get(column);
      String tv = c.target().get(column);
      if (sv == null || tv == null) {
        return Decision.review("last-write-wins: version column " + column + " is NULL or missing (source="
            + sv + ", target=" + tv + ")");
      }
      Optional<BigDecimal> sn = number(sv);
      Optional<BigDecimal> tn = number(tv);
      if (sn.isPresent() && tn.isPresent()) {
        return tn.get().compareTo(sn.get()) > 0
            ? Decision.review("last-write-wins: target " + column + "=" + tv + " is newer than source " + sv)
            : Decision.write(c.source());
      }
      Optional<Instant> si = instant(sv);
      Optional<Instant> ti = instant(tv);
      if (si.isPresent() && ti.isPresent()) {
        Duration ahead = Duration.between(si.get(), ti.get());
        return ahead.compareTo(skew) > 0
            ? Decision.review("last-write-wins: target " + column + "=" + tv + " is newer than source " + sv
                + " by " + ahead.toMillis() + " ms (skew tolerance " + skew.toMillis() + " ms)")
            : Decision.write(c.source());
      }
      return Decision.review("last-write-wins: version column " + column + " is neither a number nor a timestamp"
          + " (source=" + sv + ", target=" + tv + ")");
    }

    private static Optional<BigDecimal> number(String v) {
      try {
        return Optional.of(new BigDecimal(v.trim()));
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
    }

    /** Canonical timestamps are ISO instants; zone-less ones are read as UTC, dates as their midnight. */
    private static Optional<Instant> instant(String v) {
      String s = v.trim();
      try {
        return Optional.of(OffsetDateTime.parse(s).toInstant());
      } catch (DateTimeParseException e) {
        // not zoned
      }
      try {
        return Optional.of(LocalDateTime.parse(s.replace(' ', 'T')).toInstant(ZoneOffset.UTC));
      } catch (DateTimeParseException e) {
        // not a date-time
      }
      try {
        return Optional.of(LocalDate.parse(s).atStartOfDay().toInstant(ZoneOffset.UTC));
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    }
  }

  /** The policy's name as repairs log it. */
  static String policyName(TableRepair r) {
    return r.policy() == RepairPolicy.CUSTOM ? "custom:" + r.resolverClass() : r.policy().id();
  }
}
