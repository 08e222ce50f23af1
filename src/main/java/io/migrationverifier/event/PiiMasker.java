package io.migrationverifier.event;

import io.migrationverifier.canonical.CanonicalRow;
import io.migrationverifier.canonical.FieldDiff;
import io.migrationverifier.config.ColumnRule;
import io.migrationverifier.config.PiiMode;
import io.migrationverifier.config.TableConfig;
import io.migrationverifier.config.VerifierConfig;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Masks the columns configured with {@code pii: mask | hash} in the records the verifier writes
 * for people: discrepancy events, review records, dead letters (whose value is the discrepancy)
 * and the check's answer. Only ever applied to a copy on its way out: the state the verifier
 * compares with stays exact.
 *
 * <p>{@code mask} writes {@value #MASK}; {@code hash} writes {@code hmac:} and the first 16 bytes
 * of HMAC-SHA256 over the canonical value under {@code verify.pii-key}, in hex. Canonical values
 * are equal exactly when the verifier considers them equal (before per-column rules), so a diff
 * still shows whether two sides hold the same value, and the key keeps anyone without it from
 * confirming a guess. SQL NULL stays null in both modes: "the value is missing" is what a
 * reader of a discrepancy most needs, and it reveals nothing about a value.
 */
public final class PiiMasker {
  public static final String MASK = "***";
  public static final String HASH_PREFIX = "hmac:";
  private static final int HASH_BYTES = 16;
  private static final String ALGORITHM = "HmacSHA256";
  private static final HexFormat HEX = HexFormat.of();

  /** Masks nothing: every record passes through unchanged (the same instance). */
  public static final PiiMasker NONE = new PiiMasker(Map.of(), null);

  /** Logical table to logical column to its mode; only tables with at least one masked column. */
  private final Map<String, Map<String, PiiMode>> byTable;
  private final SecretKeySpec key;
  /** Mac instances are not thread-safe and cost an allocation each: one per thread. */
  private final ThreadLocal<Mac> mac;

  private PiiMasker(Map<String, Map<String, PiiMode>> byTable, SecretKeySpec key) {
    this.byTable = byTable;
    this.key = key;
    this.mac = ThreadLocal.withInitial(this::newMac);
  }

  /** The masker of a deployment; {@link #NONE} when no column is configured with {@code pii}. */
  public static PiiMasker forConfig(VerifierConfig config) {
    Map<String, Map<String, PiiMode>> byTable = new HashMap<>();
    boolean hashes = false;
    for (TableConfig t : config.tables()) {
      Map<String, PiiMode> cols = new HashMap<>();
      for (ColumnRule c : t.columns()) {
        if (c.pii() != PiiMode.NONE) {
          cols.put(c.name(), c.pii());
          hashes |= c.pii() == PiiMode.HASH;
        }
      }
      if (!cols.isEmpty()) {
        byTable.put(t.name(), Map.copyOf(cols));
      }
    }
    if (byTable.isEmpty()) {
      return NONE;
    }
    SecretKeySpec key = null;
    if (hashes) {
      String k = config.verify().piiKey().reveal();
      if (k.isEmpty()) {
        // ConfigLoader refuses such a config; this guards configs built in code
        throw new IllegalArgumentException("verify.pii-key is required when a column has pii: hash");
      }
      key = new SecretKeySpec(k.getBytes(StandardCharsets.UTF_8), ALGORITHM);
    }
    PiiMasker m = new PiiMasker(Map.copyOf(byTable), key);
    if (key != null) {
      m.mac.get(); // fail here, at startup, if the JVM lacks HmacSHA256
    }
    return m;
  }

  /** Whether any column of {@code table} is masked. */
  public boolean masks(String table) {
    return byTable.containsKey(table);
  }

  /** The discrepancy as it may leave the process: rows and field diffs masked; {@code d} itself if nothing is. */
  public Discrepancy mask(Discrepancy d) {
    Map<String, PiiMode> cols = byTable.get(d.table());
    if (cols == null) {
      return d;
    }
    return new Discrepancy(d.id(), d.kind(), d.table(), d.key(), d.detector(), d.divergedSince(), d.detectedAt(),
        row(cols, d.source()), row(cols, d.target()), fields(cols, d.fields()), d.resolves(), d.resolvedAt(),
        d.resolution(), d.openForMs(), d.emittedAt(), d.rowsNotKept());
  }

  /** A row (logical column to canonical text) as it may leave the process; null stays null. */
  public SortedMap<String, String> row(String table, SortedMap<String, String> row) {
    Map<String, PiiMode> cols = byTable.get(table);
    return cols == null ? row : row(cols, row);
  }

  /** A canonical row as it may be shown. Its hash is that of the masked values: never compare with it. */
  public CanonicalRow row(String table, CanonicalRow row) {
    Map<String, PiiMode> cols = byTable.get(table);
    return cols == null || row == null ? row : CanonicalRow.of(row(cols, row.values()));
  }

  public List<FieldDiff> fields(String table, List<FieldDiff> fields) {
    Map<String, PiiMode> cols = byTable.get(table);
    return cols == null ? fields : fields(cols, fields);
  }

  /** One value of one column as it may be shown. */
  public String value(String table, String column, String value) {
    Map<String, PiiMode> cols = byTable.get(table);
    return cols == null ? value : value(cols.get(column), value);
  }

  private SortedMap<String, String> row(Map<String, PiiMode> cols, SortedMap<String, String> row) {
    if (row == null) {
      return null;
    }
    SortedMap<String, String> out = new TreeMap<>(row);
    for (Map.Entry<String, String> e : out.entrySet()) {
      PiiMode mode = cols.get(e.getKey());
      if (mode != null) {
        e.setValue(value(mode, e.getValue()));
      }
    }
    return out;
  }

  private List<FieldDiff> fields(Map<String, PiiMode> cols, List<FieldDiff> fields) {
    if (fields == null || fields.isEmpty()) {
      return fields;
    }
    List<FieldDiff> out = new ArrayList<>(fields.size());
    for (FieldDiff f : fields) {
      PiiMode mode = cols.get(f.name());
      out.add(mode == null ? f
          : new FieldDiff(f.name(), value(mode, f.source()), value(mode, f.target()), f.missingOn()));
    }
    return List.copyOf(out);
  }

  private String value(PiiMode mode, String value) {
    if (mode == null || mode == PiiMode.NONE || value == null) {
      return value;
    }
    if (mode == PiiMode.MASK) {
      return MASK;
    }
    byte[] full = mac.get().doFinal(value.getBytes(StandardCharsets.UTF_8));
    return HASH_PREFIX + HEX.formatHex(full, 0, HASH_BYTES);
  }

  private Mac newMac() {
    if (key == null) {
      return null;
    }
    try {
      Mac m = Mac.getInstance(ALGORITHM);
      m.init(key);
      return m;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(ALGORITHM + " is not available in this JVM: " + e.getMessage(), e);
    }
  }
}
