package io.migrationverifier.repair.spi;

/**
 * A table's own conflict policy ({@code tables[].repair.policy: custom}, {@code resolver: <class>}).
 * The class needs a public no-argument constructor and is loaded once per repair role; calls may
 * come from several threads. It must be a pure function of the conflict: it is called again when
 * the target changes between the decision and the fenced write.
 */
public interface ConflictResolver {
  Decision resolve(Conflict conflict);
}
