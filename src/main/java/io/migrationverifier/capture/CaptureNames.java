package io.migrationverifier.capture;

import io.migrationverifier.config.Side;
import io.migrationverifier.config.VerifierConfig;
import java.util.Locale;

/** Names capture gives to what it creates in the databases, stable per deployment and side. */
public final class CaptureNames {
  private CaptureNames() {}

  /** PostgreSQL replication slot and publication name. */
  public static String slot(VerifierConfig config, Side side) {
    String s = ("mv_" + config.name() + "_" + side.id()).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    return s.length() <= 63 ? s : s.substring(0, 63);
  }

  /** MariaDB replica server id: unique per deployment and side, away from the small ids servers use. */
  public static long serverId(VerifierConfig config, Side side) {
    return 100_000L + Math.floorMod((config.name() + "/" + side.id()).hashCode(), 1_000_000_000);
  }
}
