/// A remediation a rule (or the LLM) can ask for.
public enum RuleAction: String, Sendable, Hashable, ContractEnum {
    case restart
    case start
    case stop
    case kill
    case pause
    case unpause
    case updateResources = "update_resources"
    case exec
    case notify
    case none
}
