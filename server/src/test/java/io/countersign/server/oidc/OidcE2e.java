package io.countersign.server.oidc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import no.nav.security.mock.oauth2.MockOAuth2Server;

/** Adds an {@code approvals.oidc} section pointing at a running mock-oauth2-server to a reviewing config. */
final class OidcE2e {

    static final String CLIENT = "countersign-console";
    static final String CLI_CLIENT = "countersign-cli";

    private OidcE2e() {}

    /**
     * db-admins map to the policy's dba and security groups; redirect-url is left out so the callback
     * follows the admin port the server binds (port 0 in tests).
     */
    static Path withOidc(Path config, MockOAuth2Server provider) throws IOException {
        String yaml = Files.readString(config);
        String oidc = """
                approvals:
                  oidc:
                    issuer: %s
                    client-id: %s
                    client-secret: not-so-secret
                    cli-client-id: %s
                    groups-claim: groups
                    email-claim: email
                    group-mapping:
                      db-admins: [dba, security]
                """.formatted(provider.issuerUrl("default"), CLIENT, CLI_CLIENT);
        if (!yaml.contains("\napprovals:\n")) {
            throw new IllegalStateException("the reviewing config has no approvals section to extend");
        }
        return Files.writeString(config, yaml.replace("\napprovals:\n", "\n" + oidc));
    }
}
