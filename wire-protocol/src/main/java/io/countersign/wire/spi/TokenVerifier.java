package io.countersign.wire.spi;

import java.util.concurrent.CompletionStage;

/**
 * Checks a bearer token an agent sent in place of a password. The session knows only that the
 * answer may take a while (a key set may have to be fetched): it calls {@link #verify} on its event
 * loop, which must return at once, and finishes the login when the stage completes.
 */
@FunctionalInterface
public interface TokenVerifier {

    /**
     * Verifies {@code token} for the agent that logged in as {@code user}. The stage never completes
     * exceptionally for a bad token: it completes with a {@link Result.Refused} that says which check failed.
     */
    CompletionStage<Result> verify(String user, String token);

    sealed interface Result {
        /** The token is good and names {@code user}; {@code subject} is what may be logged. */
        record Accepted(String subject) implements Result {}

        /** The token is refused; {@code reason} names the check that failed, for the client's error message. */
        record Refused(String reason) implements Result {}
    }
}
