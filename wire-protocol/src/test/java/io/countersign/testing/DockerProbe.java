package io.countersign.testing;

/**
 * Testcontainers is optional: used only when a Docker engine answers. Everything touching its
 * classes stays in this file, behind a check, so tests run where it cannot start.
 */
final class DockerProbe {

    private DockerProbe() {}

    static boolean available() {
        if (!new java.io.File("/var/run/docker.sock").exists() && System.getenv("DOCKER_HOST") == null) {
            return false;
        }
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    static PostgresServer startPostgres() {
        try {
            var container = new org.testcontainers.containers.PostgreSQLContainer<>("postgres:16-alpine");
            container.start();
            return PostgresServer.fromContainer(container.getHost(), container.getFirstMappedPort(),
                    container.getUsername(), container.getPassword());
        } catch (Throwable t) {
            return null;
        }
    }
}
