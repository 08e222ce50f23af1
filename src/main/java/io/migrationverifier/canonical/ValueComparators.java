package io.migrationverifier.canonical;

import io.migrationverifier.canonical.spi.ValueComparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/** Finds {@link ValueComparator}s by registered name, else by class name. */
public final class ValueComparators {
  private final Map<String, ValueComparator> byName = new HashMap<>();

  public ValueComparators(ClassLoader loader) {
    for (ValueComparator c : ServiceLoader.load(ValueComparator.class, loader)) {
      byName.putIfAbsent(c.name(), c);
      byName.putIfAbsent(c.getClass().getName(), c);
    }
  }

  public static ValueComparators fromContext() {
    return new ValueComparators(Thread.currentThread().getContextClassLoader());
  }

  public Optional<ValueComparator> find(String nameOrClass) {
    ValueComparator c = byName.get(nameOrClass);
    if (c != null) {
      return Optional.of(c);
    }
    try {
      Class<?> cls = Class.forName(nameOrClass, true, Thread.currentThread().getContextClassLoader());
      if (!ValueComparator.class.isAssignableFrom(cls)) {
        return Optional.empty();
      }
      c = (ValueComparator) cls.getDeclaredConstructor().newInstance();
      byName.put(nameOrClass, c);
      return Optional.of(c);
    } catch (ReflectiveOperationException | LinkageError e) {
      return Optional.empty();
    }
  }
}
