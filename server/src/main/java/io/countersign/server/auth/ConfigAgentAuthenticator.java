package io.countersign.server.auth;

import io.countersign.server.config.AgentConfig;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.CountersignConfig;
import io.countersign.server.config.ScramVerifier;
import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.LocalDatabase;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.TokenVerifier;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Agents and routes from the config, for the listener of one wire protocol: a PostgreSQL session
 * reaches only backends of type postgresql, a MySQL session only those of type mysql. Lookups are
 * map reads prepared at construction, so the calls from the event loop never block.
 */
public final class ConfigAgentAuthenticator implements AgentAuthenticator {

    private final Map<String, AgentConfig> agents = new LinkedHashMap<>();
    private final Map<String, AgentCredential> credentials = new LinkedHashMap<>();
    private final Map<String, BackendConfig> backends = new LinkedHashMap<>();
    private final Map<String, BackendConfig> otherProtocol = new LinkedHashMap<>();
    private final Protocol protocol;
    /** Analysts of the audit endpoint (PostgreSQL listener only), and the database name it answers to. */
    private final Map<String, AgentCredential> analysts = new LinkedHashMap<>();
    private final String auditDatabase;
    private Function<String, LocalDatabase> auditSessions;

    /** For the PostgreSQL listener. */
    public ConfigAgentAuthenticator(CountersignConfig config) {
        this(config, Protocol.POSTGRESQL);
    }

    /** For the listener speaking {@code protocol}. */
    public ConfigAgentAuthenticator(CountersignConfig config, Protocol protocol) {
        this(config, protocol, null);
    }

    /**
     * For the listener speaking {@code protocol}; agents with {@code auth: jwt} are verified by
     * {@code tokens} (shared by both listeners, so they share one cached key set).
     */
    public ConfigAgentAuthenticator(CountersignConfig config, Protocol protocol, TokenVerifier tokens) {
        this.protocol = protocol;
        for (BackendConfig b : config.backends()) {
            (b.type().protocol() == protocol ? backends : otherProtocol).put(b.name(), b);
        }
        for (AgentConfig a : config.agents()) {
            agents.put(a.name(), a);
            if (a.usesJwt()) {
                if (tokens == null) {
                    throw new IllegalStateException("agent " + a.name() + " logs in with a token but no token verifier was configured"
                            + " (identity.agent-tokens)");
                }
                credentials.put(a.name(), new AgentCredential.BearerToken(tokens,
                        config.identity().agentTokens().allowPlaintextOnLoopback()));
                continue;
            }
            credentials.put(a.name(), a.scram() != null
                    ? ScramVerifier.parse(a.scram())
                    : new AgentCredential.Password(a.password()));
        }
        var endpoint = config.tracking().sqlEndpoint();
        auditDatabase = endpoint.enabled() && protocol == Protocol.POSTGRESQL ? endpoint.database() : null;
        if (auditDatabase != null) {
            endpoint.analysts().forEach(a -> analysts.put(a.name(), a.scram() != null
                    ? ScramVerifier.parse(a.scram())
                    : new AgentCredential.Password(a.password())));
        }
    }

    /** Serves analysts' sessions on the audit database with {@code sessions} (one {@link LocalDatabase} per session). */
    public ConfigAgentAuthenticator withAuditEndpoint(Function<String, LocalDatabase> sessions) {
        this.auditSessions = sessions;
        return this;
    }

    @Override
    public Optional<AgentCredential> credentialFor(String user) {
        AgentCredential c = credentials.get(user);
        return Optional.ofNullable(c != null ? c : analysts.get(user));
    }

    /** The configured agent, for components that need its owner or groups. */
    public Optional<AgentConfig> agent(String name) {
        return Optional.ofNullable(agents.get(name));
    }

    @Override
    public Route route(String agent, String database) {
        AgentConfig a = agents.get(agent);
        if (a == null && analysts.containsKey(agent)) {
            return analystRoute(agent, database);
        }
        if (a != null && auditDatabase != null && auditDatabase.equals(database)) {
            return new Route.Refused(new ProtocolError("42501", 1044,
                    "agent \"" + agent + "\" may not read the audit: database \"" + database + "\" is for analysts only",
                    "Countersign's audit records what agents do, so no agent may query it; connect as an analyst "
                            + "listed in tracking.sql-endpoint.analysts."));
        }
        if (a == null) {
            // Only reachable if a session routes without authenticating first: refuse like a failed login.
            return new Route.Refused(new ProtocolError("28000", 1045,
                    "agent \"" + agent + "\" is not known to Countersign", null));
        }
        if (database == null || database.isEmpty()) {
            // MySQL clients often connect without a database (mysql -h ... with no -D, Connector/J URLs
            // ending in '/'): an agent that reaches exactly one backend over this protocol gets that one,
            // with the backend's database as the session's current one.
            List<BackendConfig> mine = backends.values().stream().filter(b -> a.mayReach(b.name())).toList();
            if (protocol == Protocol.MYSQL && mine.size() == 1) {
                return new Route.Backend(mine.get(0).target());
            }
            // Otherwise the session would have no backend to analyse against: refuse it at login.
            return new Route.Refused(new ProtocolError("3D000", 1046,
                    "No database selected: agent \"" + agent + "\" must name the database it connects to",
                    "agent \"" + agent + "\" may connect to " + reachable(a) + "; pass one as the database"
                            + (protocol == Protocol.MYSQL ? " (mysql -D <name>, or the database in the JDBC URL)." : ".")));
        }
        BackendConfig backend = backends.get(database);
        BackendConfig elsewhere = otherProtocol.get(database);
        if (backend == null && elsewhere != null) {
            return new Route.Refused(new ProtocolError("3D000", 1049,
                    "database \"" + database + "\" is a " + elsewhere.type().configName() + " backend, not reachable over "
                            + (protocol == Protocol.MYSQL ? "the MySQL protocol" : "the PostgreSQL protocol"),
                    "connect to Countersign's " + (elsewhere.type().protocol() == Protocol.MYSQL ? "MySQL" : "PostgreSQL")
                            + " listener for \"" + database + "\"; over this one agent \"" + agent + "\" may connect to "
                            + reachable(a) + "."));
        }
        if (backend == null) {
            return new Route.Refused(new ProtocolError("3D000", 1049,
                    "database \"" + database + "\" does not exist",
                    "Countersign has no backend named \"" + database + "\"; agent \"" + agent + "\" may connect to "
                            + reachable(a) + ". Use one of those as the database name."));
        }
        if (!a.mayReach(backend.name())) {
            return new Route.Refused(new ProtocolError("28000", 1044,
                    "agent \"" + agent + "\" may not connect to database \"" + database + "\"",
                    "agent \"" + agent + "\" may connect to " + reachable(a)
                            + ". To allow this one, add \"" + database + "\" to the agent's backends in the Countersign config."));
        }
        return new Route.Backend(backend.target());
    }

    private Route analystRoute(String analyst, String database) {
        if (!auditDatabase.equals(database)) {
            return new Route.Refused(new ProtocolError("28000", 1044,
                    "analyst \"" + analyst + "\" may connect only to database \"" + auditDatabase + "\", not \"" + database + "\"",
                    "analysts read the audit; use dbname=" + auditDatabase + "."));
        }
        if (auditSessions == null) {
            return new Route.Refused(new ProtocolError("57P03", 1053,
                    "the audit database \"" + auditDatabase + "\" is not being served by this Countersign", null));
        }
        return new Route.Local(auditSessions.apply(analyst));
    }

    private String reachable(AgentConfig a) {
        List<String> names = backends.keySet().stream().filter(a::mayReach).toList();
        return names.isEmpty() ? "no database" : String.join(", ", names);
    }

    /** The verifier for the config's token agents, or null when no agent logs in with a token. */
    public static AgentTokenVerifier tokenVerifier(CountersignConfig config) {
        if (config.agents().stream().noneMatch(AgentConfig::usesJwt) || config.identity().agentTokens() == null) {
            return null;
        }
        Map<String, AgentConfig> byName = new LinkedHashMap<>();
        config.agents().forEach(a -> byName.put(a.name(), a));
        return new AgentTokenVerifier(config.identity().agentTokens(), byName);
    }
}
