package io.countersign.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code countersign health}: asks a running Countersign's admin port whether it is up. It is the
 * container image's HEALTHCHECK, which has no curl or shell; it uses only java.base so the probe
 * JVM stays small, and exits 0 only on HTTP 200.
 */
@Command(
        name = "health",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Exits 0 when a running Countersign answers 200 on its admin /healthz, 1 otherwise",
            "(the reason on stderr). The container image's health check."
        })
public final class HealthCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8787/healthz",
            description = "the health endpoint (default: ${DEFAULT-VALUE})")
    String url;

    @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "3000",
            description = "connect and read timeout in milliseconds (default: ${DEFAULT-VALUE})")
    int timeoutMs;

    @Override
    public Integer call() {
        URI uri = parse();
        if (timeoutMs < 1) {
            throw new ParameterException(spec.commandLine(), "--timeout-ms must be at least 1, got " + timeoutMs);
        }
        String problem = probe(uri, timeoutMs);
        if (problem == null) {
            spec.commandLine().getOut().println(uri + ": ok");
            spec.commandLine().getOut().flush();
            return 0;
        }
        spec.commandLine().getErr().println("countersign health: " + uri + ": " + problem);
        spec.commandLine().getErr().flush();
        return 1;
    }

    private URI parse() {
        try {
            URI uri = new URI(url);
            if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new ParameterException(spec.commandLine(), "--url '" + url + "' is not an http URL with a host; expected e.g. http://127.0.0.1:8787/healthz");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new ParameterException(spec.commandLine(), "--url '" + url + "' is not a URL (" + e.getReason() + "); expected e.g. http://127.0.0.1:8787/healthz");
        }
    }

    /** Null when the endpoint answered 200, otherwise what went wrong, worded for the operator. */
    static String probe(URI uri, int timeoutMs) {
        HttpURLConnection c = null;
        try {
            c = (HttpURLConnection) uri.toURL().openConnection();
            c.setConnectTimeout(timeoutMs);
            c.setReadTimeout(timeoutMs);
            c.setUseCaches(false);
            int status = c.getResponseCode();
            if (status == 200) {
                drain(c.getInputStream());
                return null;
            }
            return "answered HTTP " + status + " instead of 200; is this Countersign's admin port (admin.port in the config)?";
        } catch (IOException e) {
            return "no answer (" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                    + "); is Countersign running and admin.host/admin.port where this URL points?";
        } finally {
            if (c != null) {
                c.disconnect();
            }
        }
    }

    private static void drain(InputStream in) throws IOException {
        try (in) {
            in.readNBytes(4096);
        }
    }
}
