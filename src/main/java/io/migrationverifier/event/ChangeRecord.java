package io.migrationverifier.event;

/** A record of a change topic: a normalized change event or a watermark. */
public sealed interface ChangeRecord permits ChangeEvent, Watermark {}
