package io.countersign.wire.pg;

import io.countersign.testing.PostgresDatabase;
import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.ProtocolError;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** A real authenticator over a map of agents; every agent reaches the test class's database. */
final class MapAuthenticator implements AgentAuthenticator {

    private final Map<String, AgentCredential> agents = new ConcurrentHashMap<>();
    private volatile BackendTarget target;

    MapAuthenticator(BackendTarget target) {
        this.target = target;
    }

    static MapAuthenticator forDatabase(PostgresDatabase db) {
        return new MapAuthenticator(new BackendTarget("test", db.host(), db.port(), db.name(), db.user(), db.password(),
                BackendTarget.TlsMode.DISABLE));
    }

    MapAuthenticator agent(String name, AgentCredential credential) {
        agents.put(name, credential);
        return this;
    }

    MapAuthenticator agent(String name, String password) {
        return agent(name, new AgentCredential.Password(password));
    }

    void target(BackendTarget t) {
        this.target = t;
    }

    BackendTarget target() {
        return target;
    }

    @Override
    public Optional<AgentCredential> credentialFor(String user) {
        return Optional.ofNullable(agents.get(user));
    }

    @Override
    public Route route(String agent, String database) {
        if (!database.equals(target.database())) {
            return new Route.Refused(new ProtocolError("3D000", 1049,
                    "agent \"" + agent + "\" may not use database \"" + database + "\"", null));
        }
        return new Route.Backend(target);
    }
}
