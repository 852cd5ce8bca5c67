package io.apilb.app.ops;

import java.nio.file.Files;
import java.nio.file.Path;

/** Files of the repository that the ops tests check: {@code config/}, {@code docker/}. */
final class RepoFiles {
    private RepoFiles() {
    }

    /** The repository root: the nearest directory above the working directory with both config/ and docker/. */
    static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("config")) && Files.isDirectory(p.resolve("docker"))
                    && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("no repository root with config/ and docker/ above "
                + Path.of("").toAbsolutePath());
    }

    static Path config(String name) {
        return root().resolve("config").resolve(name);
    }
}
