import Foundation
import Hummingbird
import NIOCore
import WhisperEngine

/// `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's shape, with a `whisper` object of capabilities.
struct ModelsController<Context: RequestContext> {
    let models: ModelManager
    let defaultModel: String

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("models") { _, _ in
            TranscriptionResponse.json(TranscriptionResponse.encode(ModelList(data: await objects())))
        }
        router.get("models/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let object = await objects().first(where: { $0.id == id }) else { throw OpenAIError.modelNotFound(id) }
            return TranscriptionResponse.json(TranscriptionResponse.encode(object))
        }
    }

    /// Every model in the directory, then every alias whose model exists.
    func objects() async -> [ModelObject] {
        let listings = await models.listings()
        let loaded = Set(await models.loadedIDs())
        let registry = await models.currentRegistry()
        var objects = listings.map { ModelObject(listing: $0, loaded: loaded.contains($0.entry.id), aliasOf: nil) }
        for alias in registry.aliases.keys.sorted() where registry.entries[alias] == nil {
            guard let target = registry.resolve(alias), let listing = listings.first(where: { $0.entry.id == target }) else { continue }
            var object = ModelObject(listing: listing, loaded: loaded.contains(target), aliasOf: target)
            object.id = alias
            objects.append(object)
        }
        return objects
    }
}

/// `{"object":"list","data":[…]}`
struct ModelList: Encodable {
    let object = "list"
    let data: [ModelObject]
}

/// One model as OpenAI lists it, plus what this server knows about it.
struct ModelObject: Encodable {
    struct Capabilities: Encodable {
        let format: String
        let multilingual: Bool?
        let translate: Bool?
        let sizeBytes: Int
        let loaded: Bool
        let aliasOf: String?
        let parameters: Int?
        let languages: [String]?
        let wordTimestamps: Bool

        enum CodingKeys: String, CodingKey {
            case format, multilingual, translate, loaded, parameters, languages
            case sizeBytes = "size_bytes"
            case aliasOf = "alias_of"
            case wordTimestamps = "word_timestamps"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(format, forKey: .format)
            try container.encode(multilingual, forKey: .multilingual)
            try container.encode(translate, forKey: .translate)
            try container.encode(languages, forKey: .languages)
            try container.encode(wordTimestamps, forKey: .wordTimestamps)
            try container.encode(sizeBytes, forKey: .sizeBytes)
            try container.encode(parameters, forKey: .parameters)
            try container.encode(loaded, forKey: .loaded)
            try container.encode(aliasOf, forKey: .aliasOf)
        }
    }

    var id: String
    let object = "model"
    let created: Int
    let ownedBy = "whisper-server"
    let whisper: Capabilities

    enum CodingKeys: String, CodingKey {
        case id, object, created, whisper
        case ownedBy = "owned_by"
    }

    init(listing: ModelManager.Listing, loaded: Bool, aliasOf: String?) {
        let multilingual = listing.capabilities?.isMultilingual ?? listing.entry.isMultilingual
        id = listing.entry.id
        created = Int(listing.entry.created.timeIntervalSince1970)
        whisper = Capabilities(
            format: listing.capabilities?.format ?? listing.entry.format,
            multilingual: multilingual,
            translate: listing.capabilities?.canTranslate ?? multilingual,
            sizeBytes: listing.entry.sizeBytes,
            loaded: loaded,
            aliasOf: aliasOf,
            parameters: listing.capabilities?.parameterCount,
            // Before loading, only an English-only model's languages are known.
            languages: listing.capabilities?.languages ?? (multilingual == false ? ["en"] : nil),
            // The engine times words with every model it loads (alignment heads from config.json, or the default ones).
            wordTimestamps: listing.capabilities?.wordTimestamps ?? true
        )
    }
}
