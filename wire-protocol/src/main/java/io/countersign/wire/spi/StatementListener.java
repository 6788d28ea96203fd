package io.countersign.wire.spi;

import java.util.concurrent.CompletionStage;

/**
 * Receives one completion per statement, allowed, denied or failed. Called on the session's
 * event loop; must not block.
 */
@FunctionalInterface
public interface StatementListener {

    /**
     * Returns {@code null} when the client may be answered at once, or a stage that completes when
     * the statement's record is durable; the session then holds back the statement's final
     * response message until the stage completes (the audit's durability contract).
     */
    CompletionStage<Void> onCompleted(StatementCompletion completion);

    StatementListener IGNORE = completion -> null;
}
