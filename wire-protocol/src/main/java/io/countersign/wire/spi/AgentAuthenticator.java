package io.countersign.wire.spi;

import java.util.Optional;

/** Knows Countersign's agents: their credentials, and which backend each session goes to. */
public interface AgentAuthenticator {

    /**
     * The credential for {@code user}, or empty when no such agent exists. Sessions still run a
     * full authentication exchange for unknown users, so a client cannot probe agent names.
     */
    Optional<AgentCredential> credentialFor(String user);

    /**
     * After successful authentication: the backend for this agent and database, or an error
     * (for example, the agent may not reach that database), or a database Countersign serves itself.
     */
    Route route(String agent, String database);

    sealed interface Route {
        record Backend(BackendTarget target) implements Route {}
        record Refused(ProtocolError error) implements Route {}
        /** Countersign answers the session itself (PostgreSQL listener only); the listener closes it with the session. */
        record Local(LocalDatabase database) implements Route {}
    }
}
