package io.migrationverifier.bench;

import io.migrationverifier.config.Side;
import io.migrationverifier.event.DiscrepancyKind;
import io.migrationverifier.verify.VerifyListener;
import java.util.concurrent.atomic.AtomicLong;

/** Counts what a measured verify role did: changes applied, discrepancies, and anything that should not happen. */
public final class VerifyCounts implements VerifyListener {
  public final AtomicLong applied = new AtomicLong();
  public final AtomicLong reported = new AtomicLong();
  public final AtomicLong resolved = new AtomicLong();
  /** Malformed records and late changes: none on well-formed synthetic input. */
  public final AtomicLong anomalies = new AtomicLong();

  @Override
  public void changeApplied(String table, Side side) {
    applied.incrementAndGet();
  }

  @Override
  public void reported(String table, DiscrepancyKind kind) {
    reported.incrementAndGet();
  }

  @Override
  public void resolved(String table, long openForMs) {
    resolved.incrementAndGet();
  }

  @Override
  public void malformed(String topic, String reason) {
    anomalies.incrementAndGet();
  }

  @Override
  public void lateChange(Side side, long lateByMs) {
    anomalies.incrementAndGet();
  }
}
