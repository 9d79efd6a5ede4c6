package iampolicy

import "sort"

func allow(actions ...string) Document {
	return Document{Version: "2012-10-17", Statement: []Statement{{Effect: "Allow", Action: actions, Resource: []string{"*"}}}}
}

// Managed policies by name: the guide's three Chime policies (§13.4; their S3/logs/SNS/SQS grants
// are kept though Belfry has no such services), the Wickr guide's AWSWickrFullAccess (§17.3: every
// wickr: action) and Belfry's administrator policy.
var managed = map[string]Document{
	"AdministratorAccess": allow("*"),
	"AWSWickrFullAccess":  allow("wickr:*"),
	"AmazonChimeReadOnly": allow("chime:List*", "chime:Get*", "chime:SearchAvailablePhoneNumbers",
		"chime:StartDataExport", "chime:RetrieveDataExport"), // guide §5.6: any of the three managed policies requests attachments
	"AmazonChimeFullAccess": allow("chime:*", "s3:ListBucket", "s3:ListAllMyBuckets", "s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketLogging", "s3:GetBucketVersioning", "s3:GetBucketWebsite", "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:DescribeResourcePolicies", "logs:PutResourcePolicy", "logs:CreateLogGroup", "logs:DescribeLogGroups"),
	"AmazonChimeUserManagement": allow(
		"chime:ListAccounts", "chime:GetAccount", "chime:GetAccountSettings", "chime:UpdateAccountSettings",
		"chime:ListUsers", "chime:GetUser", "chime:GetUserByEmail", "chime:InviteUsers", "chime:InviteUsersFromProvider",
		"chime:SuspendUsers", "chime:ActivateUsers", "chime:UpdateUserLicenses", "chime:ResetPersonalPIN", "chime:LogoutUser",
		"chime:ListDomains", "chime:GetDomain", "chime:ListDirectories", "chime:ListGroups", "chime:SubmitSupportRequest",
		"chime:ListDelegates", "chime:ListAccountUsageReportData", "chime:GetMeetingDetail", "chime:ListMeetingEvents",
		"chime:ListMeetingsReportData", "chime:GetUserActivityReportData", "chime:UpdateUser", "chime:BatchUpdateUser",
		"chime:BatchSuspendUser", "chime:BatchUnsuspendUser", "chime:AssociatePhoneNumberWithUser",
		"chime:DisassociatePhoneNumberFromUser", "chime:GetPhoneNumber", "chime:ListPhoneNumbers", "chime:GetUserSettings",
		"chime:UpdateUserSettings", "chime:CreateUser", "chime:AssociateSigninDelegateGroupsWithAccount",
		"chime:DisassociateSigninDelegateGroupsFromAccount", "chime:StartDataExport", "chime:RetrieveDataExport"),
}

// Managed returns a managed policy by name.
func Managed(name string) (Document, bool) {
	d, ok := managed[name]
	return d, ok
}

// ManagedNames lists the managed policies.
func ManagedNames() []string {
	out := make([]string, 0, len(managed))
	for n := range managed {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
