package io.apilb.app.ops;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Version;
import com.github.dockerjava.api.model.VersionComponent;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.images.builder.ImageFromDockerfile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * The image from {@code docker/Dockerfile}, built once per test JVM on the
 * engine Testcontainers finds: Docker, or podman's Docker-compatible API (test.sh starts one),
 * and removed by {@link #remove()}.
 * The build context is {@code docker/} and the runtime tarball that Maven made, nothing else,
 * exactly what the Dockerfile reads. {@code APILB_IMAGE_BASE} names the base image (test.sh
 * makes a local one where none can be pulled); without it, the Dockerfile's default.
 *
 * <p>Also what differs between the engines: the health check is run the way each runs it.
 */
final class ApilbImage {
    /** Longer than the image's shutdownGrace (30s) and shorter than CI's patience. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(45);

    private static String name;
    private static Boolean podman;

    private ApilbImage() {
    }

    /** The image's name; skips the calling test where there is no engine or no runtime tarball. */
    static synchronized String name() {
        if (name != null) {
            return name;
        }
        assumeTrue(engineAvailable(), "no container engine: Testcontainers found none (DOCKER_HOST, "
                + "/var/run/docker.sock); test.sh starts podman's where it runs as root");
        Path tarball = Path.of(System.getProperty("apilb.tarball"));
        assumeTrue(Files.isRegularFile(tarball), "no runtime tarball " + tarball
                + ": Maven builds it only where its JDK 25 is installed (lb-app/pom.xml, profile dist)");
        ImageFromDockerfile image = new ImageFromDockerfile("localhost/apilb-it-"
                + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT), false)
                .withDockerfilePath("docker/Dockerfile")
                .withFileFromPath("docker", RepoFiles.root().resolve("docker"))
                .withFileFromPath("lb-app/target/" + tarball.getFileName(), tarball);
        String base = System.getenv("APILB_IMAGE_BASE");
        if (base != null && !base.isBlank()) {
            image.withBuildArg("BASE", base);
        }
        name = image.get();
        long size = client().inspectImageCmd(name).exec().getSize();
        System.out.printf("apilb image %s: %.1f MB (base %s)%n", name, size / 1e6,
                base == null ? "the Dockerfile's default" : base);
        return name;
    }

    /**
     * Removes the image, if one was built. Testcontainers would only with its reaper container,
     * which is disabled where its image cannot be pulled.
     */
    static synchronized void remove() {
        if (name != null) {
            client().removeImageCmd(name).withForce(true).exec();
            name = null;
        }
    }

    /** True when the engine is podman, whose health checks run on request ({@code podman healthcheck run}). */
    static synchronized boolean podman() {
        if (podman == null) {
            Version version = client().versionCmd().exec();
            List<VersionComponent> components = version.getComponents();
            podman = components != null && components.stream()
                    .anyMatch(c -> c.getName() != null && c.getName().toLowerCase(Locale.ROOT).contains("podman"));
        }
        return podman;
    }

    /**
     * Runs the image's HEALTHCHECK once, as the engine does: {@code podman healthcheck run} (podman
     * runs it on a systemd timer otherwise, which a container host without systemd lacks), or the
     * check's command in the container on Docker. Returns the exit code (0 healthy) and output.
     */
    static Commands.Result healthCheck(GenericContainer<?> container) throws Exception {
        if (podman()) {
            return Commands.run(Duration.ofSeconds(30), "podman", "healthcheck", "run", container.getContainerId());
        }
        Container.ExecResult r = container.execInContainer("/usr/local/bin/apilb-healthcheck");
        return new Commands.Result(r.getExitCode(), r.getStdout() + r.getStderr());
    }

    /** Stops the container as {@code podman stop}/{@code docker stop} do, SIGTERM first; returns its exit code. */
    static long stop(GenericContainer<?> container) {
        String id = container.getContainerId();
        client().stopContainerCmd(id).withTimeout((int) STOP_TIMEOUT.toSeconds()).exec();
        return client().inspectContainerCmd(id).exec().getState().getExitCodeLong();
    }

    static DockerClient client() {
        return DockerClientFactory.instance().client();
    }

    private static boolean engineAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
