package io.countersign.server.cli;

import io.countersign.approvals.client.ApprovalsClient;
import java.net.URI;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where the approvals REST API is and who calls it: shared by every {@code countersign approvals} subcommand. */
public final class ApprovalsOptions {

    static final String TOKEN_ENV = "COUNTERSIGN_TOKEN";

    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8787",
            description = "Countersign's admin address (default: ${DEFAULT-VALUE})")
    String url;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "the reviewer's bearer token (default: the environment variable " + TOKEN_ENV
                    + ", then the token 'countersign login' stored in ~/.config/countersign/token)")
    String token;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    /** The environment is passed in so tests can run the command in-process with their own variables. */
    static Map<String, String> environment = System.getenv();

    /**
     * Replaces the environment the CLI reads ({@code COUNTERSIGN_TOKEN}, {@code HOME}, {@code XDG_CONFIG_HOME});
     * returns the previous one. For tests that run commands in-process.
     */
    public static synchronized Map<String, String> useEnvironment(Map<String, String> env) {
        Map<String, String> previous = environment;
        environment = Map.copyOf(env);
        return previous;
    }

    ApprovalsClient client() {
        String t = token != null ? token : environment.get(TOKEN_ENV);
        if (t == null || t.isBlank()) {
            try {
                t = LoginCommand.TokenFile.read(LoginCommand.TokenFile.path(environment));
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("cannot read the stored token: " + e.getMessage());
            }
        }
        if (t == null || t.isBlank()) {
            throw new IllegalArgumentException("no reviewer token; run 'countersign login', pass --token TOKEN or set " + TOKEN_ENV);
        }
        return new ApprovalsClient(baseUrl(url), t.strip());
    }

    /** The admin address as a URI, or a clear error. */
    static URI baseUrl(String url) {
        URI base;
        try {
            base = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--url '" + url + "' is not a URL; expected e.g. http://127.0.0.1:8787");
        }
        if (base.getScheme() == null || !(base.getScheme().equals("http") || base.getScheme().equals("https")) || base.getHost() == null) {
            throw new IllegalArgumentException("--url '" + url + "' is not an http(s) address; expected e.g. http://127.0.0.1:8787");
        }
        return base;
    }
}
