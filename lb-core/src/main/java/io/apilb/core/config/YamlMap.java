package io.apilb.core.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * One YAML mapping of the config, read against the keys it may hold. Unknown and duplicate keys
 * are reported when it is created; each getter reports what is wrong with its value and returns
 * the fallback, so one pass finds every error. A section that is absent, or written as
 * {@code health:} with nothing after it, reads as empty: every value takes its default.
 */
final class YamlMap {
    private final String path;
    private final Problems problems;
    private final EnvExpander env;
    private final Map<String, Node> values = new LinkedHashMap<>();
    /** False when the node was not a mapping: that is already reported, so "missing" would be noise. */
    private final boolean usable;

    private YamlMap(String path, Node node, Problems problems, EnvExpander env, List<String> keys) {
        this.path = path;
        this.problems = problems;
        this.env = env;
        if (node != null) {
            problems.line(path, lineOf(node));
        }
        if (node == null || isNull(node)) {
            usable = true;
        } else if (node instanceof MappingNode mapping) {
            usable = true;
            readKeys(mapping, keys);
        } else {
            usable = false;
            problems.error(path, describe(node) + " (expected: a map)");
        }
    }

    static YamlMap root(Node node, Problems problems, EnvExpander env, String... keys) {
        return new YamlMap("", node, problems, env, List.of(keys));
    }

    /** The nested section under {@code key}, empty when absent. */
    YamlMap section(String key, String... keys) {
        return new YamlMap(path(key), values.get(key), problems, env, List.of(keys));
    }

    /**
     * The maps in the list under {@code key}; an error when there is no such list or it is empty,
     * because the balancer needs at least one of each.
     */
    List<YamlMap> items(String key, String... keys) {
        Node node = values.get(key);
        List<YamlMap> items = new ArrayList<>();
        if (node instanceof SequenceNode seq) {
            List<Node> elements = seq.getValue();
            for (int i = 0; i < elements.size(); i++) {
                items.add(new YamlMap(path(key) + "[" + i + "]", elements.get(i), problems, env, List.of(keys)));
            }
        } else if (node != null && !isNull(node)) {
            problems.error(path(key), describe(node) + " (expected: a list)");
            return items;
        }
        if (items.isEmpty() && usable) {
            problems.error(path(key), "no " + key + " (expected: at least one)");
        }
        return items;
    }

    /** The value under {@code key}, or {@code fallback} when it is absent or wrong. */
    <T> T optional(String key, ValueType<T> type, T fallback) {
        String text = text(key, type);
        return text == null ? fallback : parse(path(key), text, type, fallback);
    }

    /** The value under {@code key}; when absent, an error and {@code placeholder}. */
    <T> T required(String key, ValueType<T> type, T placeholder) {
        if (!has(key)) {
            if (usable) {
                problems.error(path(key), "missing (expected: " + type.expected() + ")");
            } else {
                problems.unusable(path(key));
            }
            return placeholder;
        }
        return optional(key, type, placeholder);
    }

    /** A single value or a list of values under {@code key}; {@code fallback} when absent. */
    <T> List<T> oneOrMore(String key, ValueType<T> type, List<T> fallback) {
        if (values.get(key) instanceof SequenceNode seq && seq.getValue().isEmpty()) {
            problems.error(path(key), "empty list (expected: " + type.expected() + ", or a list of them)");
            return fallback;
        }
        return list(key, type, fallback);
    }

    /**
     * A list of values under {@code key}, which may be empty, or a single value read as a list of
     * one; {@code fallback} when absent or when any element is wrong.
     */
    <T> List<T> list(String key, ValueType<T> type, List<T> fallback) {
        Node node = values.get(key);
        if (!(node instanceof SequenceNode seq)) {
            T one = optional(key, type, null);
            return one == null ? fallback : List.of(one);
        }
        List<T> out = new ArrayList<>();
        boolean complete = true;
        for (int i = 0; i < seq.getValue().size(); i++) {
            Node element = seq.getValue().get(i);
            String elementPath = path(key) + "[" + i + "]";
            problems.line(elementPath, lineOf(element));
            String text = scalar(elementPath, element, type);
            T value = text == null ? null : parse(elementPath, text, type, null);
            if (value == null) {
                complete = false;
            } else {
                out.add(value);
            }
        }
        return complete ? List.copyOf(out) : fallback;
    }

    boolean has(String key) {
        Node node = values.get(key);
        return node != null && !isNull(node);
    }

    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private void readKeys(MappingNode mapping, List<String> keys) {
        Map<String, Integer> firstLines = new LinkedHashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            Node keyNode = tuple.getKeyNode();
            int line = lineOf(keyNode);
            if (keyNode.getTag().equals(Tag.MERGE)) {
                problems.error(path("<<"), line, "merge keys are not supported (expected: each value written out)");
                continue;
            }
            if (!(keyNode instanceof ScalarNode scalarKey)) {
                problems.error(path, line, describe(keyNode) + " as a key (expected: a plain key)");
                continue;
            }
            String key = scalarKey.getValue();
            Integer first = firstLines.putIfAbsent(key, line);
            if (first != null) {
                problems.error(path(key), line, "duplicate key (first at line " + first + ")");
            } else if (!keys.contains(key)) {
                String guess = KeyGuess.closest(key, keys);
                problems.error(path(key), line, guess == null ? "unknown key" : "unknown key (did you mean " + guess + "?)");
            } else {
                values.put(key, tuple.getValueNode());
                problems.line(path(key), lineOf(tuple.getValueNode()));
            }
        }
    }

    /** The expanded text under {@code key}; null when absent or already reported as wrong. */
    private String text(String key, ValueType<?> type) {
        Node node = values.get(key);
        return node == null ? null : scalar(path(key), node, type);
    }

    private String scalar(String at, Node node, ValueType<?> type) {
        if (isNull(node)) {
            return null;
        }
        if (!(node instanceof ScalarNode scalar)) {
            problems.error(at, describe(node) + " (expected: " + type.expected() + ")");
            return null;
        }
        try {
            return env.expand(scalar.getValue());
        } catch (IllegalArgumentException e) {
            problems.error(at, e.getMessage());
            return null;
        }
    }

    private <T> T parse(String at, String text, ValueType<T> type, T fallback) {
        try {
            return type.parse(text);
        } catch (IllegalArgumentException e) {
            problems.error(at, e.getMessage());
            return fallback;
        }
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode && node.getTag().equals(Tag.NULL);
    }

    private static int lineOf(Node node) {
        return node.getStartMark().getLine() + 1;
    }

    private static String describe(Node node) {
        if (node instanceof ScalarNode scalar) {
            return ValueType.quote(scalar.getValue());
        }
        return node instanceof SequenceNode ? "a list" : "a map";
    }
}
