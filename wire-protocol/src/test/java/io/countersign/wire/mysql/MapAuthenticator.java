package io.countersign.wire.mysql;

import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.ProtocolError;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** A test authenticator over a map: agent name to password, every agent routed to one backend. */
final class MapAuthenticator implements AgentAuthenticator {

    private final Map<String, String> passwords = new ConcurrentHashMap<>();
    private final Map<String, BackendTarget> targets = new ConcurrentHashMap<>();

    MapAuthenticator agent(String name, String password, BackendTarget target) {
        passwords.put(name, password);
        targets.put(name, target);
        return this;
    }

    @Override
    public Optional<AgentCredential> credentialFor(String user) {
        return Optional.ofNullable(passwords.get(user)).map(AgentCredential.Password::new);
    }

    @Override
    public Route route(String agent, String database) {
        BackendTarget t = targets.get(agent);
        if (t == null) {
            return new Route.Refused(new ProtocolError("42000", 1044, "agent '" + agent + "' has no backend", null));
        }
        return new Route.Backend(t);
    }
}
