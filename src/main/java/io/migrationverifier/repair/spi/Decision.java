package io.migrationverifier.repair.spi;

import java.util.SortedMap;

/**
 * What a {@link ConflictResolver} decided.
 *
 * <ul>
 *   <li>{@link #write}: the target row must become {@code row} (canonical, logical columns; null =
 *       delete it). Written fenced: only if the target still holds what was judged.</li>
 *   <li>{@link #review}: nothing is written; the difference goes to {@code <name>.review} with the reason.</li>
 *   <li>{@link #skip}: nothing is written and nobody is asked (the difference is accepted).</li>
 * </ul>
 */
public record Decision(Action action, SortedMap<String, String> row, String reason) {
  public enum Action { WRITE, REVIEW, SKIP }

  public static Decision write(SortedMap<String, String> row) {
    return new Decision(Action.WRITE, row, null);
  }

  public static Decision review(String reason) {
    return new Decision(Action.REVIEW, null, reason);
  }

  public static Decision skip(String reason) {
    return new Decision(Action.SKIP, null, reason);
  }
}
