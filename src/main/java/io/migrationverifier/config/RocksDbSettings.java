package io.migrationverifier.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The native memory budget of the verify role's RocksDB stores ({@code verify.rocksdb-memory},
 * {@code verify.rocksdb-write-buffer-ratio}). Every store of the process draws on ONE block cache
 * of {@code memoryBytes} (index and filter blocks included) and ONE write-buffer manager of
 * {@code writeBufferRatio * memoryBytes} that charges its memtables to that same cache, so the
 * total stays near {@code memoryBytes} however many partitions an instance holds. Without it each
 * store would take its own 50 MB cache and up to 3 x 16 MB of memtables.
 */
public record RocksDbSettings(long memoryBytes, double writeBufferRatio) {
  public static final long MIB = 1L << 20;
  public static final long DEFAULT_MEMORY = 128 * MIB;
  public static final double DEFAULT_WRITE_BUFFER_RATIO = 0.5;
  /** Below this, memtables of a few stores no longer fit and RocksDB flushes on every few writes. */
  public static final long MIN_MEMORY = 8 * MIB;
  public static final double MIN_WRITE_BUFFER_RATIO = 0.1;
  public static final double MAX_WRITE_BUFFER_RATIO = 0.9;
  public static final RocksDbSettings DEFAULTS = new RocksDbSettings(DEFAULT_MEMORY, DEFAULT_WRITE_BUFFER_RATIO);

  private static final Pattern SIZE = Pattern.compile("(\\d{1,15})\\s*(b|kb|kib|mb|mib|gb|gib)?");

  public RocksDbSettings {
    if (memoryBytes < MIN_MEMORY) {
      throw new IllegalArgumentException("verify.rocksdb-memory: " + formatSize(memoryBytes) + " is below the minimum "
          + formatSize(MIN_MEMORY));
    }
    if (!(writeBufferRatio >= MIN_WRITE_BUFFER_RATIO && writeBufferRatio <= MAX_WRITE_BUFFER_RATIO)) {
      throw new IllegalArgumentException("verify.rocksdb-write-buffer-ratio: " + writeBufferRatio + " must be between "
          + MIN_WRITE_BUFFER_RATIO + " and " + MAX_WRITE_BUFFER_RATIO);
    }
  }

  /** The part of {@link #memoryBytes} memtables may take before the write-buffer manager makes stores flush. */
  public long writeBufferBytes() {
    return (long) (memoryBytes * writeBufferRatio);
  }

  /**
   * Reads {@code 128MB}, {@code 1GB}, {@code 512KB} (multiples of 1024; {@code MiB}, {@code GiB}, ...
   * are accepted too) or a plain number of bytes.
   *
   * @throws IllegalArgumentException naming the accepted forms
   */
  public static long parseSize(String text) {
    Matcher m = SIZE.matcher(text == null ? "" : text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("\"" + text + "\" is not a size; write e.g. 128MB, 1GB, 512KB or a number of"
          + " bytes");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2);
    int shift = switch (unit.charAt(0)) {
      case 'k' -> 10;
      case 'm' -> 20;
      case 'g' -> 30;
      default -> 0;
    };
    if (n > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException("\"" + text + "\" is too large");
    }
    return n << shift;
  }

  /** The inverse of {@link #parseSize} for messages: the largest unit that divides the value. */
  public static String formatSize(long bytes) {
    if (bytes != 0 && bytes % (1L << 30) == 0) {
      return (bytes >> 30) + "GB";
    }
    if (bytes != 0 && bytes % MIB == 0) {
      return (bytes >> 20) + "MB";
    }
    if (bytes != 0 && bytes % 1024 == 0) {
      return (bytes >> 10) + "KB";
    }
    return bytes + "B";
  }
}
