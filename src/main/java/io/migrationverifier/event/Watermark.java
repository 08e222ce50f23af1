package io.migrationverifier.event;

import io.migrationverifier.config.Side;

/**
 * "Every change of this side committed at or before {@code watermark} (epoch ms) has been written
 * to this partition already." Written with a null key to every partition.
 */
public record Watermark(Side side, long watermark) implements ChangeRecord {}
