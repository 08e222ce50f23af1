package io.migrationverifier.canonical;

import io.migrationverifier.canonical.spi.ValueComparator;
import java.math.BigDecimal;

/** A third-party comparator registered by this test module's META-INF/services: amounts within one cent. */
public final class CentsTolerantComparator implements ValueComparator {
  @Override
  public String name() {
    return "within-a-cent";
  }

  @Override
  public boolean equivalent(String source, String target) {
    try {
      return new BigDecimal(source).subtract(new BigDecimal(target)).abs().compareTo(new BigDecimal("0.01")) <= 0;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
