package io.countersign.server.config;

/**
 * A person (or BI tool) allowed to query the audit endpoint.
 *
 * @param name     the user name they connect with; unique, and no agent's
 * @param password a clear password (use {@code ${ENV}}); exactly one of password and scram
 * @param scram    a SCRAM-SHA-256 verifier ({@code countersign scram-verifier} prints one)
 */
public record AnalystConfig(String name, String password, String scram) implements ConfigSection {

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        problems.require(name, Problems.join(at, "name"), "the user name the analyst connects with");
        if (password == null && scram == null) {
            problems.add(at, "no credential; expected 'password' or 'scram' (a SCRAM-SHA-256 verifier)");
        } else if (password != null && scram != null) {
            problems.add(at, "both 'password' and 'scram' given; expected exactly one");
        } else if (scram != null) {
            try {
                ScramVerifier.parse(scram);
            } catch (IllegalArgumentException e) {
                problems.add(Problems.join(at, "scram"), e.getMessage());
            }
        } else if (password.isEmpty()) {
            problems.add(Problems.join(at, "password"), "empty; expected a non-empty password");
        }
    }
}
