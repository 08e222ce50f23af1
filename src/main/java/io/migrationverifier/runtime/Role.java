package io.migrationverifier.runtime;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** What one process does; {@code run --roles} picks any subset (default: all implemented roles). */
public enum Role {
  CAPTURE_SOURCE("capture-source"),
  CAPTURE_TARGET("capture-target"),
  VERIFY("verify"),
  REPAIR("repair");

  private final String id;

  Role(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public static Role fromId(String id) {
    for (Role r : values()) {
      if (r.id.equals(id.trim().toLowerCase(Locale.ROOT))) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown role \"" + id + "\"; roles: capture-source, capture-target, verify, repair");
  }

  public static Set<Role> all() {
    return EnumSet.allOf(Role.class);
  }
}
