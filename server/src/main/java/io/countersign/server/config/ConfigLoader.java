package io.countersign.server.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads the YAML config: parse, substitute {@code ${ENV}} in values, bind to {@link CountersignConfig}
 * (unknown keys and mistyped values fail), then check values. Every failure is a
 * {@link ConfigException} naming the file, the key path and what is expected.
 */
public final class ConfigLoader {

    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private ConfigLoader() {}

    public static CountersignConfig load(Path file) {
        return load(file, System.getenv());
    }

    public static CountersignConfig load(Path file, Map<String, String> env) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), "", "file not found; expected a YAML config file (see docker/countersign.example.yaml)");
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "", "cannot read the file: " + e.getMessage());
        }
        return parse(text, file.toString(), env);
    }

    /** Parses config text; {@code source} names it in error messages. */
    public static CountersignConfig parse(String yaml, String source, Map<String, String> env) {
        JsonNode tree;
        try {
            tree = YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, "", "not valid YAML" + location(e) + ": " + e.getOriginalMessage());
        }
        if (tree == null || tree.isMissingNode() || tree.isNull()) {
            throw new ConfigException(source, "", "the file is empty; expected a mapping with listeners, backends and agents");
        }
        if (!tree.isObject()) {
            throw new ConfigException(source, "", "expected a mapping with listeners, backends and agents at the top, got " + describe(tree));
        }
        substitute(tree, "", new EnvSubstitution(env), source);
        CountersignConfig config;
        try {
            config = YAML.treeToValue(tree, CountersignConfig.class);
        } catch (JsonMappingException e) {
            throw new ConfigException(source, keyPath(e.getPath()), explain(e));
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, "", e.getOriginalMessage());
        }
        List<ConfigProblem> problems = ConfigValidator.validate(config);
        if (!problems.isEmpty()) {
            throw new ConfigException(source, problems);
        }
        return config;
    }

    private static void substitute(JsonNode node, String at, EnvSubstitution env, String source) {
        if (node instanceof ObjectNode obj) {
            List<String> keys = new ArrayList<>();
            obj.fieldNames().forEachRemaining(keys::add);
            for (String key : keys) {
                JsonNode child = obj.get(key);
                String path = Problems.join(at, key);
                if (child.isTextual()) {
                    obj.set(key, TextNode.valueOf(resolve(child.textValue(), path, env, source)));
                } else {
                    substitute(child, path, env, source);
                }
            }
        } else if (node instanceof ArrayNode arr) {
            for (int i = 0; i < arr.size(); i++) {
                JsonNode child = arr.get(i);
                String path = at + "[" + i + "]";
                if (child.isTextual()) {
                    arr.set(i, TextNode.valueOf(resolve(child.textValue(), path, env, source)));
                } else {
                    substitute(child, path, env, source);
                }
            }
        }
    }

    private static String resolve(String value, String path, EnvSubstitution env, String source) {
        try {
            return env.apply(value);
        } catch (EnvSubstitution.MissingVariable e) {
            throw new ConfigException(source, path, e.getMessage());
        }
    }

    private static String keyPath(List<JsonMappingException.Reference> refs) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : refs) {
            if (r.getFieldName() != null) {
                if (!sb.isEmpty()) sb.append('.');
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    private static String explain(JsonMappingException e) {
        if (e instanceof UnrecognizedPropertyException u) {
            Collection<Object> known = u.getKnownPropertyIds();
            return "unknown key '" + u.getPropertyName() + "'; expected one of: "
                    + (known == null ? "(none)" : known.stream().map(String::valueOf).sorted().collect(Collectors.joining(", ")));
        }
        if (e instanceof InvalidFormatException f) {
            return "'" + f.getValue() + "' is not valid here; expected " + expected(f.getTargetType());
        }
        if (e instanceof MismatchedInputException m) {
            return "wrong kind of value; expected " + expected(m.getTargetType());
        }
        return e.getOriginalMessage();
    }

    /** Says in config terms what a Java target type accepts. */
    private static String expected(Class<?> type) {
        if (type == null) {
            return "a different value";
        }
        if (type.isEnum()) {
            return "one of: " + Arrays.stream(type.getEnumConstants()).map(c -> {
                try {
                    var p = type.getField(((Enum<?>) c).name()).getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
                    return p != null ? p.value() : ((Enum<?>) c).name();
                } catch (NoSuchFieldException ex) {
                    return ((Enum<?>) c).name();
                }
            }).collect(Collectors.joining(", "));
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "a whole number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a single text value";
        }
        if (List.class.isAssignableFrom(type) || Collection.class.isAssignableFrom(type)) {
            return "a list";
        }
        if (type.isRecord()) {
            return "a mapping with keys: " + Arrays.stream(type.getRecordComponents()).map(ConfigNames::keyOf).collect(Collectors.joining(", "));
        }
        return "a " + type.getSimpleName();
    }

    private static String location(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
    }

    private static String describe(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "a list";
            case STRING -> "the text \"" + node.textValue() + "\"";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
