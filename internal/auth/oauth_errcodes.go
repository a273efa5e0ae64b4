package auth

// GoTrue's error codes for social sign-in and for the features Go Forward does not serve
// (internal/api/apierrors/errorcode.go).
const (
	CodeBadOAuthState                  = "bad_oauth_state"
	CodeBadOAuthCallback               = "bad_oauth_callback"
	CodeFlowStateAlreadyUsed           = "flow_state_already_used"
	CodeProviderEmailNeedsVerification = "provider_email_needs_verification"
	CodeUnexpectedAudience             = "unexpected_audience"
	CodeSAMLProviderDisabled           = "saml_provider_disabled"
	CodeWeb3ProviderDisabled           = "web3_provider_disabled"
	CodeFeatureDisabled                = "feature_disabled"
)
