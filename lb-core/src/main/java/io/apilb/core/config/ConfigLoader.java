package io.apilb.core.config;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads the YAML config file into an {@link ApilbConfig}, or fails with a {@link ConfigException}
 * that lists every problem at once, each as {@code path: message (line N)}, e.g.
 * {@code backends[2].address: "10.0.0.13" has no port (expected: host:port) (line 9)}.
 * <ul>
 *   <li>Keys are camelCase, as in {@code config/apilb.yaml}; unknown and duplicate keys are errors.</li>
 *   <li>{@code ${NAME}} and {@code ${NAME:-default}} expand in values; {@code $$} is a dollar.</li>
 *   <li>Relative file names ({@code health.tls.ca}, {@code cert}, {@code key},
 *       {@code admin.tokenFile}) resolve against the config file's directory; the files are not
 *       read here.</li>
 *   <li>YAML is read with SnakeYAML's safe constructor, as a node tree, so no class is ever
 *       instantiated from the file and each value keeps its line. Anchors and aliases are allowed
 *       (an alias reports errors at its anchor's line); merge keys ({@code <<}) are not.</li>
 *   <li>A file over {@value #MAX_CODE_POINTS} characters is refused.</li>
 * </ul>
 * Defaults are those listed on each record. Thread-safe: every call is independent.
 */
public final class ConfigLoader {
    /** Large enough for hundreds of backends, small enough that a wrong file fails fast. */
    static final int MAX_CODE_POINTS = 1 << 20;

    private ConfigLoader() {
    }

    /** Loads {@code file}, expanding variables from the process environment. */
    public static ApilbConfig load(Path file) throws ConfigException {
        return load(file, System::getenv);
    }

    /** Loads {@code file}, expanding variables with {@code env} (null for an unset variable). */
    public static ApilbConfig load(Path file, Function<String, String> env) throws ConfigException {
        Objects.requireNonNull(file, "file");
        String source = file.toString();
        String text;
        try {
            // Checked before reading so that a wrong path to a huge file does not fill the heap;
            // UTF-8 takes up to 4 bytes a character.
            if (Files.size(file) > 4L * MAX_CODE_POINTS) {
                throw fail(source, "the file is larger than " + MAX_CODE_POINTS + " characters");
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw fail(source, "no such file");
        } catch (AccessDeniedException e) {
            throw fail(source, "permission denied");
        } catch (CharacterCodingException e) {
            throw fail(source, "not UTF-8 text");
        } catch (IOException e) {
            throw fail(source, "cannot read the file: " + e.getMessage());
        }
        Path dir = file.toAbsolutePath().getParent();
        return parse(text, source, env, dir);
    }

    /**
     * Parses config text; relative file names resolve against the working directory.
     *
     * @param sourceName names the text in error messages, e.g. a file name
     */
    public static ApilbConfig parse(String yaml, String sourceName) throws ConfigException {
        return parse(yaml, sourceName, System::getenv);
    }

    /** As {@link #parse(String, String)}, expanding variables with {@code env} (null for unset). */
    public static ApilbConfig parse(String yaml, String sourceName, Function<String, String> env)
            throws ConfigException {
        return parse(yaml, sourceName, env, Path.of(""));
    }

    static ApilbConfig parse(String yaml, String sourceName, Function<String, String> env, Path baseDir)
            throws ConfigException {
        Objects.requireNonNull(yaml, "yaml");
        Objects.requireNonNull(sourceName, "sourceName");
        if (yaml.codePointCount(0, yaml.length()) > MAX_CODE_POINTS) {
            throw fail(sourceName, "the file is larger than " + MAX_CODE_POINTS + " characters");
        }
        Node root;
        try {
            root = newYaml().compose(new StringReader(yaml));
        } catch (MarkedYAMLException e) {
            throw fail(sourceName, syntaxError(e));
        } catch (YAMLException e) {
            throw fail(sourceName, "YAML error: " + e.getMessage());
        }
        Problems problems = new Problems();
        ApilbConfig config = ConfigBinder.bind(root, problems, new EnvExpander(env), baseDir);
        ConfigValidator.validate(config, problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(sourceName, problems.messages());
        }
        return config;
    }

    private static Yaml newYaml() {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(MAX_CODE_POINTS);
        options.setAllowRecursiveKeys(false);
        options.setMaxAliasesForCollections(20);
        options.setNestingDepthLimit(20);
        return new Yaml(new SafeConstructor(options));
    }

    /** SnakeYAML's problem text and line, without its multi-line excerpt of the file. */
    private static String syntaxError(MarkedYAMLException e) {
        String problem = e.getProblem() != null ? e.getProblem() : e.getContext();
        // Some problems only make sense after their context: "expected a single document in the
        // stream, but found another document".
        if (problem != null && problem.startsWith("but ") && e.getContext() != null) {
            problem = e.getContext() + ", " + problem;
        }
        String where = e.getProblemMark() != null ? " (line " + (e.getProblemMark().getLine() + 1) + ")" : "";
        return "YAML syntax: " + problem + where;
    }

    private static ConfigException fail(String source, String error) {
        return new ConfigException(source, List.of(error));
    }
}
