package dev.kindling.server;

import java.util.List;
import java.util.Map;

/** The served models by name, and the lookup that turns a request's "model" into one of the right kind. */
record Registry(Map<String, ServedModel> byName) {
    /**
     * The model a request names, or the first of the kind when it names none.
     *
     * @throws ApiError 404 for an unknown name or when no model of the kind is loaded, 400 for a model of the other kind
     */
    <T extends ServedModel> T find(String name, Class<T> kind, String purpose) {
        List<String> ofKind = ServedModel.names(byName, kind);
        if (name == null) {
            if (ofKind.isEmpty())
                throw ApiError.notFound("model_not_found", "model", "no model for " + purpose + " is loaded; loaded: " + byName.keySet());
            return kind.cast(byName.get(ofKind.getFirst()));
        }
        ServedModel m = byName.get(name);
        if (m == null)
            throw ApiError.notFound("model_not_found", "model", "the model '" + EmbeddingsEndpoint.clip(name) + "' does not exist; loaded: " + byName.keySet());
        if (!kind.isInstance(m))
            throw ApiError.invalid("model", "the model '" + name + "' cannot serve " + purpose + "; models that can: " + ofKind);
        return kind.cast(m);
    }
}
