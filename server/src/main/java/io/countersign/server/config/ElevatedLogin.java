package io.countersign.server.config;

/**
 * A backend login for an elevated role that a policy rule's {@code run-as} names. MySQL runs the
 * approved statement on a separate connection logged in with it; PostgreSQL switches role with
 * {@code SET LOCAL ROLE} on the agent's own connection and uses only the role name.
 *
 * @param user     the backend user (MySQL); for PostgreSQL optional, defaults to the role's name
 * @param password its password (use {@code ${ENV}}); absent for trust authentication
 */
public record ElevatedLogin(String user, String password) {

    @Override
    public String toString() {
        return "ElevatedLogin[" + user + "]";
    }
}
