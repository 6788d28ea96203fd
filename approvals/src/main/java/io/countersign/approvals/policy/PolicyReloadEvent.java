package io.countersign.approvals.policy;

import java.nio.file.Path;
import java.time.Instant;

/** What happened when the policy file changed. */
public sealed interface PolicyReloadEvent {

    Path file();

    Instant at();

    /** The new policy is in force. */
    record Reloaded(Path file, Instant at, String previousSha256, String sha256, int rules) implements PolicyReloadEvent {}

    /** The changed file could not be used; the previous policy stays in force. */
    record Rejected(Path file, Instant at, String keptSha256, String error) implements PolicyReloadEvent {}
}
