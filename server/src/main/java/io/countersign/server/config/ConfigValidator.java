package io.countersign.server.config;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Map;

/**
 * Walks a parsed config and runs every {@link ConfigSection#check}. It discovers sections through
 * record components, lists and maps, so adding a section to {@link CountersignConfig} needs no
 * change here.
 */
final class ConfigValidator {

    private ConfigValidator() {}

    static List<ConfigProblem> validate(CountersignConfig root) {
        Problems problems = new Problems();
        visit(root, "", root, problems);
        return problems.list();
    }

    private static void visit(Object node, String at, CountersignConfig root, Problems problems) {
        if (node == null) {
            return;
        }
        if (node instanceof ConfigSection section) {
            section.check(at, root, problems);
        }
        if (node instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                visit(list.get(i), at + "[" + i + "]", root, problems);
            }
        } else if (node instanceof Map<?, ?> map) {
            map.forEach((k, v) -> visit(v, Problems.join(at, String.valueOf(k)), root, problems));
        } else if (node.getClass().isRecord()) {
            for (RecordComponent rc : node.getClass().getRecordComponents()) {
                try {
                    visit(rc.getAccessor().invoke(node), Problems.join(at, ConfigNames.keyOf(rc)), root, problems);
                } catch (IllegalAccessException | InvocationTargetException e) {
                    throw new IllegalStateException("cannot read config component " + rc, e);
                }
            }
        }
    }
}
