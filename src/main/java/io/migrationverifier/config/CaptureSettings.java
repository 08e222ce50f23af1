package io.migrationverifier.config;

import java.time.Duration;

/**
 * Settings of the two capture roles.
 *
 * @param snapshot          {@code initial} (default): every existing row is read first and is the
 *                          baseline of the comparison; {@code never}: only changes from now on
 * @param heartbeatTable    a one-row-per-deployment table the capture updates every
 *                          {@code heartbeatInterval} in each database; the update travels through
 *                          the change stream in commit order, so when it arrives every earlier
 *                          commit has been delivered and the watermark can move even when the
 *                          database is idle. {@code none} disables it (watermarks then move only
 *                          with changes). Created if missing (needs CREATE; see README).
 * @param heartbeatInterval how often the heartbeat row is updated
 */
public record CaptureSettings(String snapshot, String heartbeatTable, Duration heartbeatInterval) {
  public static final String SNAPSHOT_INITIAL = "initial";
  public static final String SNAPSHOT_NEVER = "never";
  public static final String NO_HEARTBEAT = "none";

  public boolean heartbeatEnabled() {
    return !NO_HEARTBEAT.equals(heartbeatTable);
  }
}
