package io.migrationverifier.config;

import java.util.Arrays;

/**
 * What the verify role keeps of an agreeing key ({@code tables[].state}).
 *
 * <p>{@link #FULL}: one copy of the canonical row, so a later disagreement is reported with both
 * rows and field diffs whatever changed. {@link #HASH_ONLY}: the row's hash only (about 40 bytes
 * plus the key), for tables too large to keep a copy of; when a change breaks agreement the other
 * side's row is taken from the change's before-image (captured for such tables, accepted only if
 * it hashes to what the other side holds), so reports keep their field diffs whenever the
 * database provides full before-images.
 */
public enum StateMode {
  FULL("full"),
  HASH_ONLY("hash-only");

  private final String id;

  StateMode(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public static StateMode fromId(String id) {
    return Arrays.stream(values()).filter(m -> m.id.equals(id)).findFirst().orElse(null);
  }
}
