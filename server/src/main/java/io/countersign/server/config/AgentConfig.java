package io.countersign.server.config;

import java.util.List;

/**
 * An AI agent allowed to connect, and the human answerable for it.
 *
 * @param name     the user name the agent connects with; unique
 * @param owner    the responsible human (e-mail or name)
 * @param password a clear password (use {@code ${ENV}}); exactly one of password and scram
 * @param scram    a SCRAM-SHA-256 verifier in PostgreSQL's {@code SCRAM-SHA-256$iter:salt$storedkey:serverkey} form
 * @param groups   labels policies can refer to (optional)
 * @param backends names of the backends this agent may reach, or {@code "*"} for all
 * @param auth     {@code password} (default: password or scram) or {@code jwt}: the agent logs in with a
 *                 workload token from the identity provider ({@code identity.agent-tokens}) as its password
 */
public record AgentConfig(
        String name,
        String owner,
        String password,
        String scram,
        List<String> groups,
        List<String> backends,
        String auth) implements ConfigSection {

    public static final String AUTH_JWT = "jwt";
    public static final String AUTH_PASSWORD = "password";

    public AgentConfig {
        groups = ConfigLists.copy(groups);
        backends = ConfigLists.copy(backends);
    }

    public AgentConfig(String name, String owner, String password, String scram, List<String> groups, List<String> backends) {
        this(name, owner, password, scram, groups, backends, null);
    }

    /** Whether this agent logs in with a workload token rather than a password. */
    public boolean usesJwt() {
        return AUTH_JWT.equals(auth);
    }

    /** Whether this agent may reach the backend called {@code backend}. */
    public boolean mayReach(String backend) {
        return backends.contains("*") || backends.contains(backend);
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        problems.require(name, Problems.join(at, "name"), "the user name the agent connects with");
        problems.require(owner, Problems.join(at, "owner"), "the human answerable for this agent (an e-mail address or name)");
        if (auth != null && !AUTH_JWT.equals(auth) && !AUTH_PASSWORD.equals(auth)) {
            problems.add(Problems.join(at, "auth"), "'" + auth + "' is not an authentication method; expected password or jwt");
        } else if (usesJwt()) {
            if (password != null || scram != null) {
                problems.add(at, "auth: jwt takes no 'password' or 'scram'; the agent sends its token as the password");
            }
            if (root.identity() == null || root.identity().agentTokens() == null) {
                problems.add(Problems.join(at, "auth"), "jwt needs identity.agent-tokens (issuer, audience, ...) to verify the tokens with");
            }
        } else if (password == null && scram == null) {
            problems.add(at, "no credential; expected 'password' or 'scram' (a SCRAM-SHA-256 verifier)");
        } else if (password != null && scram != null) {
            problems.add(at, "both 'password' and 'scram' given; expected exactly one");
        } else if (scram != null) {
            try {
                ScramVerifier.parse(scram);
            } catch (IllegalArgumentException e) {
                problems.add(Problems.join(at, "scram"), e.getMessage());
            }
            // a verifier only serves SCRAM: without it on offer this agent could never log in
            if (root.listeners() != null && root.listeners().postgres() != null
                    && !root.listeners().postgres().auth().contains(AuthMethod.SCRAM_SHA_256)) {
                problems.add(Problems.join(at, "scram"), "a SCRAM verifier works only with scram-sha-256, which listeners.postgres.auth does not offer; "
                        + "add scram-sha-256 there or give this agent a password");
            }
        } else if (password.isEmpty()) {
            problems.add(Problems.join(at, "password"), "empty; expected a non-empty password");
        }
        String key = Problems.join(at, "backends");
        if (problems.require(backends, key, "a list of backend names this agent may reach (or \"*\" for all)")) {
            for (int i = 0; i < backends.size(); i++) {
                String b = backends.get(i);
                if (!"*".equals(b) && root.backend(b) == null) {
                    problems.add(key + "[" + i + "]", "no backend named '" + b + "'; expected one of "
                            + root.backends().stream().filter(x -> x != null).map(BackendConfig::name).toList() + " or \"*\"");
                }
            }
        }
    }
}
