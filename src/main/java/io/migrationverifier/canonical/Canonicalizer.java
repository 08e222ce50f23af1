package io.migrationverifier.canonical;

import io.migrationverifier.canonical.spi.ValueComparator;
import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.ConfigException;
import io.migrationverifier.config.Side;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.TimePrecision;
import io.migrationverifier.config.VerifierConfig;
import io.migrationverifier.config.VerifySettings;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one canonicalizer of a deployment: per table and side a {@link TableCanonicalizer}, per
 * table a {@link RowComparator}. The stream's capture, the verifier, the audit and the
 * on-demand check all build theirs from the same config, so they agree on what "equal" means.
 */
public final class Canonicalizer {
  private final Map<Side, Map<String, TableCanonicalizer>> byLogical = new EnumMap<>(Side.class);
  private final Map<Side, Map<String, TableCanonicalizer>> byPhysical = new EnumMap<>(Side.class);
  private final Map<String, RowComparator> comparators = new HashMap<>();

  private Canonicalizer() {}

  /** Builds it; throws {@link ConfigException} listing every comparator that cannot be found. */
  public static Canonicalizer forConfig(VerifierConfig config) {
    return forConfig(config, ValueComparators.fromContext());
  }

  public static Canonicalizer forConfig(VerifierConfig config, ValueComparators registry) {
    Canonicalizer c = new Canonicalizer();
    List<String> problems = new ArrayList<>();
    for (Side side : Side.values()) {
      c.byLogical.put(side, new HashMap<>());
      c.byPhysical.put(side, new HashMap<>());
    }
    for (int i = 0; i < config.tables().size(); i++) {
      TableConfig t = config.tables().get(i);
      Map<String, ColumnSpec> specs = new HashMap<>();
      for (int j = 0; j < t.columns().size(); j++) {
        ColumnRule r = t.columns().get(j);
        ValueComparator comparator = null;
        if (r.comparator() != null) {
          Optional<ValueComparator> found = registry.find(r.comparator());
          if (found.isEmpty()) {
            problems.add("tables[" + i + "].columns[" + j + "].comparator: no ValueComparator named \"" + r.comparator()
                + "\" is registered (META-INF/services/" + ValueComparator.class.getName() + ") or loadable by class name");
          } else {
            comparator = found.get();
          }
        }
        specs.put(r.name(), ColumnSpec.of(r, config.verify().timestampPrecision(), comparator));
      }
      for (Side side : Side.values()) {
        TableCanonicalizer tc = new TableCanonicalizer(t, side, config.database(side).timeZone(),
            config.verify().timestampPrecision(), specs);
        c.byLogical.get(side).put(t.name(), tc);
        c.byPhysical.get(side).put(t.physicalTable(side), tc);
      }
      c.comparators.put(t.name(), new RowComparator(specs));
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return c;
  }

  /**
   * Canonical values WITHOUT the normalizing rules (trim, case-insensitive, comparator, scale,
   * tolerance, precision; timestamps at microseconds or finer): the values as stored, in
   * canonical text, under the same logical names (renames and ignores still apply). Repair writes
   * these back, so that a repair never rewrites "Alice@Example.COM" as the "alice@example.com" it
   * was compared as. Never used to decide whether two rows agree.
   */
  public static Canonicalizer faithful(VerifierConfig config) {
    List<TableConfig> tables = new ArrayList<>();
    for (TableConfig t : config.tables()) {
      // Type rules stay: they say how to read a value (JSON by structure, a CHAR(36) as a UUID), not how to blur it.
      List<ColumnRule> rules = t.columns().stream().map(r -> new ColumnRule(r.name(), r.sourceName(), r.targetName(),
          r.ignore(), r.type(), null, null, null, false, false, null)).toList();
      tables.add(new TableConfig(t.name(), t.sourceTable(), t.targetTable(), t.key(), rules, t.window(), t.repair()));
    }
    VerifySettings v = config.verify();
    // Both dialects store at most microseconds: finer is what the config asked for, coarser would truncate.
    TimePrecision precision = v.timestampPrecision() == TimePrecision.NANOS ? TimePrecision.NANOS : TimePrecision.MICROS;
    VerifySettings full = new VerifySettings(v.window(), v.stallThreshold(), v.processingGuarantee(), v.stateDir(),
        v.numStandbyReplicas(), v.numStreamThreads(), v.commitInterval(), precision, v.bufferStore());
    return forConfig(new VerifierConfig(config.name(), config.kafka(), config.source(), config.target(), tables, full,
        config.capture(), config.repair(), config.http()));
  }

  public Optional<TableCanonicalizer> table(Side side, String logicalTable) {
    return Optional.ofNullable(byLogical.get(side).get(logicalTable));
  }

  /** Finds a table by one side's physical name ({@code schema.table} or {@code table}). */
  public Optional<TableCanonicalizer> physicalTable(Side side, String physicalTable) {
    return Optional.ofNullable(byPhysical.get(side).get(physicalTable));
  }

  public Optional<RowComparator> comparator(String logicalTable) {
    return Optional.ofNullable(comparators.get(logicalTable));
  }
}
